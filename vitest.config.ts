import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/unit/**/*.test.ts", "test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              bindings: {
                WARDEN_JWT_SECRET: "test-secret-test-secret-test-secret-0123",
                WARDEN_FAULT_INJECTION: "1",
                FAKE_SERVICES_URL: `http://127.0.0.1:${inject<number>("fakeServicesPort")}`,
                SMTP_PORT: String(inject<number>("maildevSmtpPort")),
                MAILDEV_URL: `http://127.0.0.1:${inject<number>("maildevWebPort")}`,
                PUBLIC_URL: "http://warden.test",
                AUDIT_DB_URL: inject<string>("sqldUrl"),
                SQLD_CONTROL_URL: `http://127.0.0.1:${inject<number>("sqldControlPort")}`,
                // a fixed test key (never used outside tests)
                AUDIT_SIGNING_KEY: JSON.stringify({ crv: "Ed25519", d: "bOrZub742hBOOAYVfNeJyWCADr3kgzGSoKuMWKndfOA", x: "XN7gW63yYAWN_QyVwtQayBLZDCn-e-ZWTkSonMe1PNU", kty: "OKP", kid: "audit-test" }),
                OUTBOUND_HOSTS: JSON.stringify({ "claims.example": `http://127.0.0.1:${inject<number>("fakeServicesPort")}`, "evil.example": `http://127.0.0.1:${inject<number>("fakeServicesPort")}` }),
                PLATFORM_TENANT: "platform",
                FRAUD_KEY: "fraud-key-from-secrets",
                OPENAI_TEST_KEY: "sk-test-openai-key-never-logged",
                ANTHROPIC_API_KEY: "sk-ant-test-key-never-logged",
              },
              // A binding-shaped stand-in for Workers AI (a paid service): a Worker whose `run` RPC
              // answers like the real binding does.
              serviceBindings: { AI: "fake-workers-ai" },
              workers: [{ name: "fake-workers-ai", modules: true, compatibilityDate: "2026-10-01", scriptPath: "./test/support/fake-workers-ai.js" }],
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          globalSetup: ["./test/support/fake-services-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
