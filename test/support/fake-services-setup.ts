import type { TestProject } from "vitest/node";
import { startFakeServices } from "./fake-services.ts";

declare module "vitest" {
  export interface ProvidedContext {
    fakeServicesPort: number;
  }
}

export default async function setup(project: TestProject) {
  const { server, port } = await startFakeServices();
  project.provide("fakeServicesPort", port);
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections(); // hung-connection scenarios leave sockets open
      server.close(() => resolve());
    });
}
