import { createServer } from "node:net";

/** A free TCP port on 127.0.0.1 (the kernel picks it; closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
