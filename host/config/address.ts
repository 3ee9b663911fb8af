// "ip:port" addresses as MOSN writes them: "127.0.0.1:2046", "0.0.0.0:80", "[::1]:8080", "name:port".

export interface HostPort {
  readonly host: string; // without IPv6 brackets
  readonly port: number;
}

/** The parsed address, or a message saying what was expected. */
export function parseHostPort(text: string, allowPortZero: boolean): HostPort | string {
  const expected = `expected "ip:port" such as "127.0.0.1:8080", got ${JSON.stringify(text)}`;
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") return expected;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon <= 0 || text.indexOf(":") !== colon) return expected;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (host === "" || /\s/.test(host)) return expected;
  if (!/^\d{1,5}$/.test(portText)) return expected;
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowPortZero)) return `port must be ${allowPortZero ? "0" : "1"} .. 65535, got ${port} in ${JSON.stringify(text)}`;
  return { host, port };
}
