// A real OpenID provider for the sign-in tests: the npm package oidc-provider (installed by
// .ci/run into .tools/oidc), on loopback, with one confidential client for opsward.
//
// Environment:
//   OIDC_REDIRECT_URI       opsward's callback (registered as the client's redirect URI)
//   OIDC_POST_LOGOUT_URI    where logout sends the browser back to
//   OIDC_CLIENT_SECRET      the client secret
//   OIDC_ACCOUNTS_FILE      JSON {"alice": {"groups": ["ops"], "name": "Alice", "email": ...}};
//                           read at every sign-in, so a test can change someone's groups
//   OIDC_ID_TOKEN_TTL       seconds an ID token is valid (default 600)
//
// Prints "listening <port>" once it serves on 127.0.0.1 (an ephemeral port), and exits when
// its standard input closes, so it never outlives the test that started it.
// Sign-in uses the package's development login form: any username signs in as that
// account, with the claims OIDC_ACCOUNTS_FILE gives it.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modulePath = path.join(root, '.tools/oidc/node_modules/oidc-provider/lib/index.js');
const { default: Provider } = await import(pathToFileURL(modulePath).href);

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
};
const redirectUri = env('OIDC_REDIRECT_URI');
const postLogoutUri = env('OIDC_POST_LOGOUT_URI');
const clientSecret = env('OIDC_CLIENT_SECRET');
const accountsFile = env('OIDC_ACCOUNTS_FILE');
const idTokenTtl = Number(env('OIDC_ID_TOKEN_TTL', '600'));

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'opsward',
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [postLogoutUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    groups: ['groups'],
  },
  // The scopes' claims go into the ID token itself, as Keycloak and Azure AD do for groups.
  conformIdTokenClaims: false,
  ttl: { IdToken: idTokenTtl },
  cookies: { keys: ['opsward-test-provider-cookie-key'] },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  // opsward is a first-party client: no consent screen.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email groups');
    grant.addOIDCClaims(['sub', 'name', 'preferred_username', 'email', 'groups']);
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        const accounts = JSON.parse(fs.readFileSync(accountsFile, 'utf8'));
        const account = accounts[id] ?? {};
        return {
          sub: id,
          preferred_username: id,
          name: account.name ?? id,
          email: account.email ?? `${id}@example.test`,
          groups: account.groups ?? [],
        };
      },
    };
  },
});
server.on('request', provider.callback());

// Whoever started us may stop reading our output; that is no reason to stop serving.
process.stdout.on('error', () => {});
console.log(`listening ${port}`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
