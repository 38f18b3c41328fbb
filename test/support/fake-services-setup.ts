import { MailDev } from "maildev";
import type { TestProject } from "vitest/node";
import { startFakeServices } from "./fake-services.ts";
import { freePort } from "./free-port.ts";
import { createServer } from "node:http";
import { startSqld } from "./sqld.ts";

declare module "vitest" {
  export interface ProvidedContext {
    fakeServicesPort: number;
    maildevSmtpPort: number;
    maildevWebPort: number;
    sqldUrl: string;
    sqldControlPort: number;
  }
}


/**
 * Starts the local fakes for paid services, a real MailDev (SMTP + REST) and a real sqld (the
 * audit database) on loopback. Tests inside workerd take sqld away and bring it back through a
 * small control server: POST /stop, POST /start.
 */
export default async function setup(project: TestProject) {
  const { server, port } = await startFakeServices();
  const [smtp, web] = [await freePort(), await freePort()];
  const maildev = new MailDev({ smtp, web, ip: "127.0.0.1", webIp: "127.0.0.1", silent: true });
  await maildev.start();
  project.provide("fakeServicesPort", port);
  project.provide("maildevSmtpPort", smtp);
  project.provide("maildevWebPort", web);
  const sqld = await startSqld();
  const control = createServer(async (req, res) => {
    try {
      if (req.method === "POST" && req.url === "/stop") await sqld.stop();
      else if (req.method === "POST" && req.url === "/start") await sqld.start();
      else if (req.url !== "/status") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ running: sqld.running }));
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  const controlPort = await freePort();
  await new Promise<void>((r) => control.listen(controlPort, "127.0.0.1", r));
  project.provide("sqldUrl", sqld.url);
  project.provide("sqldControlPort", controlPort);
  return async () => {
    control.close();
    await sqld.dispose();
    await maildev.stop();
    await new Promise<void>((resolve) => {
      server.closeAllConnections(); // hung-connection scenarios leave sockets open
      server.close(() => resolve());
    });
  };
}
