// A real OpenID provider for the browser test: node-oidc-provider (a certified implementation)
// on 127.0.0.1, one confidential client (authorization code with PKCE required), its
// development interactions as the login and consent pages. An account's login is its name;
// its claims are `sub`, `preferred_username` (the login, as Entra ID gives a staff member's user
// name) and `nin` (a national identity number, as a BankID broker gives it), taken from
// ACCOUNTS, a JSON object {login: nin}. REDIRECT: the client's redirect URIs, comma-separated
// (the customers' and the staff's callback).
//
//   PORT=… REDIRECT=http://127.0.0.1:…/auth/callback,http://127.0.0.1:…/staff/auth/callback \
//     ACCOUNTS='{"anna":"01010112345"}' node oidc-provider.mjs

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'nordlys',
    client_secret: 'nordlys-test-secret',
    redirect_uris: process.env.REDIRECT.split(','),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  scopes: ['openid', 'nin', 'profile', 'email'],
  claims: { openid: ['sub'], nin: ['nin'], profile: ['preferred_username'], email: ['email'] },
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, nin: accounts[id], preferred_username: id, email: `${id}@example.no` };
      },
    };
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
