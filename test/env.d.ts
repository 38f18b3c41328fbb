// Bindings the test configuration adds (vitest.config.ts): the fake services' base URL and a test secret.
declare namespace Cloudflare {
  interface Env {
    FAKE_SERVICES_URL: string;
    FRAUD_KEY: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    OPENAI_TEST_KEY: string;
    ANTHROPIC_API_KEY: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    MAILDEV_URL: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    /** the test's sqld control server (POST /stop, /start) */
    SQLD_CONTROL_URL: string;
  }
}
