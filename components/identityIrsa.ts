import { IdentityStrategy } from "./identityStrategy";
import { irsaStatements } from "./trustPolicy";
import { IdentityType } from "./types";

/** IRSA: one web-identity statement per cluster's OIDC provider, `:sub` pinned to the service accounts, `:aud` to STS. */
export const irsaStrategy: IdentityStrategy = {
    identity: IdentityType.Irsa,
    webIdentity: true,
    podIdentity: false,
    trustStatements: (scope) => irsaStatements(scope.providerArns, scope.serviceAccounts, scope.audience),
};
