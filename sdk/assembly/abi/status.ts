// Status codes of ABI v1 (§3) and the verdicts of a route answer (§5.2).

export const STATUS_OK: i32 = 0;
export const STATUS_REJECTED: i32 = 1;
export const STATUS_BAD_INPUT: i32 = 2;
export const STATUS_NO_TABLE: i32 = 3;
export const STATUS_NOT_CONFIGURED: i32 = 4;
export const STATUS_NO_GROUP: i32 = 5;

export const VERDICT_ACCEPT: u32 = 0;
export const VERDICT_REJECT: u32 = 1;
export const VERDICT_WAIT: u32 = 2;

export const AREA_INPUT: i32 = 0;
export const AREA_SUBSET: i32 = 1;
export const AREA_OUTPUT: i32 = 2;
