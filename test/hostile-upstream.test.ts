// Hostile upstreams (issue 18): an upstream that sends interim 1xx answers before its final one. Each case is
// named after what the upstream sends; the client reads the raw bytes the host writes back.
import { afterEach, describe, expect, it } from "vitest";
import { finalWithBody, rawExchange, type RawUpstream, startRawUpstream } from "./helpers/raw.js";
import { anyHost, mosnConfig, type RunningSwitchyard, startSwitchyard } from "./helpers/switchyard.js";

let sy: RunningSwitchyard | undefined;
let up: RawUpstream | undefined;
afterEach(async () => {
  await sy?.close();
  await up?.close();
  sy = undefined;
  up = undefined;
});

async function proxyTo(reply: (head: string) => string): Promise<RunningSwitchyard> {
  up = await startRawUpstream(reply);
  sy = await startSwitchyard({
    config: mosnConfig({
      clusters: [{ name: "c", hosts: [up.address] }],
      virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }])],
    }),
  });
  return sy;
}

const GET = "GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n";
const FINAL = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

describe("upstream interim answers", () => {
  it("103 Early Hints then 200: the client gets the 103 with its Link, then the 200 and its body", async () => {
    const s = await proxyTo(() => "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + FINAL);
    const text = await rawExchange(s.url, GET, finalWithBody(2));
    expect(text).toMatch(/^HTTP\/1\.1 103 Early Hints\r\nLink: <\/style\.css>; rel=preload\r\n\r\n/);
    expect(text).toMatch(/HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
    expect(s.accessLog().at(-1)).toMatchObject({ status: 200 });
  });

  it("103 without Link then 200: the hint is dropped and the 200 arrives", async () => {
    const s = await proxyTo(() => "HTTP/1.1 103 Early Hints\r\nx-hint: 1\r\n\r\n" + FINAL);
    const text = await rawExchange(s.url, GET, finalWithBody(2));
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
  });

  it("102 Processing twice then 200: the interim answers are dropped and the 200 arrives", async () => {
    const s = await proxyTo(() => "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" + FINAL);
    const text = await rawExchange(s.url, GET, finalWithBody(2));
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
  });

  it("unsolicited 100 Continue then 200, llhttp upstream client: the 100 is dropped, the client gets the 200 and its body", async () => {
    up = await startRawUpstream(() => "HTTP/1.1 100 Continue\r\n\r\n" + FINAL);
    sy = await startSwitchyard({
      config: {
        ...mosnConfig({
          clusters: [{ name: "c", hosts: [up.address] }],
          virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s" } }])],
        }),
        switchyard: { upstream_client: "llhttp" },
      },
    });
    const text = await rawExchange(sy.url, GET, finalWithBody(2));
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
    expect(text).not.toContain("100 Continue");
    expect(sy.accessLog().at(-1)).toMatchObject({ status: 200, attempts: 1 });
    // And again: the pool goes on serving after the dropped 100.
    expect(await rawExchange(sy.url, GET, finalWithBody(2))).toMatch(/\r\n\r\nok$/);
    expect(up.heads.length).toBe(2);
  });

  // Why the llhttp client is needed for the case above: undici's closes the connection on any 100 (its onHeadersComplete).
  it("unsolicited 100 Continue then 200, undici upstream client: 502 E_UPSTREAM_PROTOCOL saying why, one attempt, not retried as a reset", async () => {
    up = await startRawUpstream(() => "HTTP/1.1 100 Continue\r\n\r\n" + FINAL);
    const other = await startRawUpstream(() => FINAL);
    try {
      sy = await startSwitchyard({
        config: {
          ...mosnConfig({
            clusters: [{ name: "c", lb_type: "LB_ROUNDROBIN", hosts: [up.address, other.address] }],
            virtualHosts: [anyHost([{ match: { prefix: "/" }, route: { cluster_name: "c", timeout: "5s", retry_policy: { retry_on: true, num_retries: 2 } } }])],
          }),
          switchyard: { upstream_client: "undici" },
        },
      });
      // Round robin: one of the first two requests goes to the stray-100 upstream first.
      let text = "";
      for (let i = 0; i < 2 && !text.startsWith("HTTP/1.1 502"); i++) text = await rawExchange(sy.url, GET, finalWithBody(1));
      expect(text).toMatch(/^HTTP\/1\.1 502 /);
      const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
      expect(body).toMatchObject({ error: "E_UPSTREAM_PROTOCOL" });
      expect(body.message).toContain(`upstream ${up.address} failed: it sent a 100 Continue the request did not ask for`);
      expect(sy.accessLog().find((l) => l.status === 502)).toMatchObject({ attempts: 1 });
    } finally {
      await other.close();
    }
  });
});

describe("upstream bodies on bodiless answers (RFC 9112 §6.3)", () => {
  const twoRequests = (first: string): string => `GET ${first} HTTP/1.1\r\nHost: a.test\r\n\r\nGET /ok HTTP/1.1\r\nHost: a.test\r\n\r\n`;
  const bothAnswered = (text: string): boolean => /HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/.test(text);
  // The body bytes follow the head on the same upstream connection; /ok then asks again.
  const reply = (head: string): string =>
    head.startsWith("GET /204 ") ? "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\nx-a: 1\r\n\r\nhello"
    : head.startsWith("GET /304 ") ? "HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\netag: \"v1\"\r\n\r\nhello"
    : FINAL;

  it("204 with content-length 5 and a body: the client gets the 204 and its headers, no body, and its next request a clean 200", async () => {
    const s = await proxyTo(reply);
    const text = await rawExchange(s.url, twoRequests("/204"), bothAnswered);
    expect(text).toMatch(/^HTTP\/1\.1 204 No Content\r\nx-a: 1\r\n/);
    const first = text.slice(0, text.indexOf("HTTP/1.1 200"));
    expect(first).not.toMatch(/content-length|hello/i);
    expect(text.endsWith("\r\n\r\nok")).toBe(true);
    expect(s.accessLog().map((l) => l.status)).toEqual([204, 200]);
  });

  it("304 with content-length 5 and a body: the client gets the 304 with its etag, no body, and its next request a clean 200", async () => {
    const s = await proxyTo(reply);
    const text = await rawExchange(s.url, twoRequests("/304"), bothAnswered);
    expect(text).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n[\s\S]*etag: "v1"\r\n/);
    expect(text.slice(0, text.indexOf("HTTP/1.1 200"))).not.toContain("hello");
    expect(s.accessLog().map((l) => l.status)).toEqual([304, 200]);
  });
});
