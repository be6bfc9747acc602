/** `parallama serve`: run the gateway. The server code loads only here, so admin commands start fast. */
import type { CAC } from "cac";
import { cliConfig, type GlobalOptions } from "./context.ts";
import { optionText, quote } from "./input.ts";
import { UsageError } from "./errors.ts";

export function registerServeCommand(cli: CAC): void {
  cli
    .command("serve", "Run the gateway (applies migrations; creates the first admin when there is none)")
    .option("--host <host>", "Listen on this address (overrides server.host and PARALLAMA_HOST)")
    .option("--port <port>", "Listen on this port (overrides server.port and PARALLAMA_PORT)")
    .action(async (options: GlobalOptions & { host?: unknown; port?: unknown }) => {
      const config = cliConfig(options);
      const host = optionText(options.host, "--host");
      const port = optionText(options.port, "--port");
      if (host !== undefined) config.server.host = host;
      if (port !== undefined) {
        if (!/^\d+$/.test(port) || Number(port) > 65535) throw new UsageError(`--port: ${quote(port)} is not a port (0-65535)`);
        config.server.port = Number(port);
      }
      const { tuneAllocator } = await import("../server/allocator.ts");
      tuneAllocator();
      const { serve } = await import("../server/serve.ts");
      await serve(config);
    });
}
