import { MailDev } from "maildev";
import type { TestProject } from "vitest/node";
import { startFakeServices } from "./fake-services.ts";
import { freePort } from "./free-port.ts";

declare module "vitest" {
  export interface ProvidedContext {
    fakeServicesPort: number;
    maildevSmtpPort: number;
    maildevWebPort: number;
  }
}


/** Starts the local fakes for paid services and a real MailDev (SMTP + REST) on loopback. */
export default async function setup(project: TestProject) {
  const { server, port } = await startFakeServices();
  const [smtp, web] = [await freePort(), await freePort()];
  const maildev = new MailDev({ smtp, web, ip: "127.0.0.1", webIp: "127.0.0.1", silent: true });
  await maildev.start();
  project.provide("fakeServicesPort", port);
  project.provide("maildevSmtpPort", smtp);
  project.provide("maildevWebPort", web);
  return async () => {
    await maildev.stop();
    await new Promise<void>((resolve) => {
      server.closeAllConnections(); // hung-connection scenarios leave sockets open
      server.close(() => resolve());
    });
  };
}
