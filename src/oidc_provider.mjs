// A real OpenID provider for the single sign-on tests: `oidc-provider` from npm (a certified
// OpenID Connect implementation), configured from a JSON file the test writes:
//   { "port": 4567, "issuer": "http://127.0.0.1:4567", "keys_dir": "/tmp/x", "kids": ["k2", "k1"],
//     "client": { "client_id", "client_secret", "redirect_uris", "post_logout_redirect_uris" },
//     "users": { "alice": { "email": "...", "groups": ["..."] } } }
// Each key id in `kids` is an RSA signing key made on first use and kept in keys_dir as
// <kid>.json (the private JWK) and <kid>.pem (PKCS#1, for the test to sign its own tokens); the
// first signs. Starting again with a new first kid is a key rotation. The development login
// form takes any user name in `users` (no password check). Prints "ready" once listening.
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const require = createRequire(join(process.env.MUSTER_NODE_MODULES, 'x.js'));
const { default: Provider } = await import(require.resolve('oidc-provider'));

function signingKey(kid) {
  const file = join(config.keys_dir, `${kid}.json`);
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
    writeFileSync(file, JSON.stringify(jwk));
    writeFileSync(join(config.keys_dir, `${kid}.pem`), privateKey.export({ type: 'pkcs1', format: 'pem' }));
  }
  const jwk = JSON.parse(readFileSync(file, 'utf8'));
  createPrivateKey({ key: jwk, format: 'jwk' }); // fails here, not later, on a bad key
  return jwk;
}

const provider = new Provider(config.issuer, {
  clients: [{
    ...config.client,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: config.kids.map(signingKey) },
  async findAccount(_ctx, id) {
    const user = config.users[id];
    if (!user) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...user }; } };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  // group and email claims in the ID token itself, as Entra ID and Keycloak send them
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  cookies: { keys: ['muster-test-provider-cookies'] },
});
provider.on('server_error', (_ctx, error) => console.error('provider error:', error));

provider.listen(config.port, '127.0.0.1', () => console.log('ready'));
