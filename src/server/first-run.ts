import { generateKey } from "../keys/key.ts";
import type { Store } from "../store/store.ts";

/**
 * On a store without any admin, creates user `admin` with one key and returns the key (shown
 * once by the caller); null when an admin exists.
 */
export async function ensureFirstAdmin(store: Store): Promise<{ user: string; key: string } | null> {
  if ((await store.countAdmins()) > 0) return null;
  const name = (await store.findUser("admin")) ? `admin-${crypto.randomUUID().slice(0, 6)}` : "admin";
  const user = await store.createUser({ name, role: "admin" });
  const key = await generateKey();
  await store.createKey({ userId: user.id, keyId: key.keyId, hash: key.hash, name: "first-run", expiresAt: null });
  return { user: user.name, key: key.key };
}

export function firstRunBanner(admin: { user: string; key: string }): string {
  return [
    "",
    "  Parallama first run: created admin user '" + admin.user + "' with this API key (shown once, store it now):",
    "",
    "    " + admin.key,
    "",
    "  Manage users and keys on this machine with:",
    "    parallama user create NAME          parallama key create NAME",
    "    parallama limits set NAME --requests-hourly 100",
    "    parallama usage report --by user,model",
    "",
  ].join("\n");
}
