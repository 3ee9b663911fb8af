// The token of RFC 9110 §5.6.2, which a header name must be: one definition for every check of one.

/** An HTTP token, in any case. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** An HTTP token in lowercase (header names as plugin.json and a plugin's sy_headers list give them). */
export const LOWERCASE_HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
