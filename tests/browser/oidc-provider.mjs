// A real OpenID provider for the browser test: node-oidc-provider (a certified implementation)
// on 127.0.0.1, one confidential client (authorization code with PKCE required), its
// development interactions as the login and consent pages. An account's login is its name;
// its claims are `sub` and `nin` (a national identity number, as a BankID broker gives it),
// taken from ACCOUNTS, a JSON object {login: nin}.
//
//   PORT=… REDIRECT=http://127.0.0.1:…/auth/callback ACCOUNTS='{"anna":"01010112345"}' node oidc-provider.mjs

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'nordlys',
    client_secret: 'nordlys-test-secret',
    redirect_uris: [process.env.REDIRECT],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  scopes: ['openid', 'nin'],
  claims: { openid: ['sub'], nin: ['nin'] },
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, nin: accounts[id] };
      },
    };
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
