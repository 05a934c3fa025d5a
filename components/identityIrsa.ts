import { chainedProfile, serviceAccounts } from "./identityChildren";
import { IdentityStrategy } from "./identityStrategy";
import { irsaStatements } from "./trustPolicy";
import { IdentityType } from "./types";

/**
 * IRSA: one web-identity statement per cluster's OIDC provider, `:sub` pinned to the service accounts, `:aud` to the
 * token's audience; the ServiceAccounts carry the role (and, for buckets in another account, a chained profile).
 */
export const irsaStrategy: IdentityStrategy = {
    identity: IdentityType.Irsa,
    webIdentity: true,
    podIdentity: false,
    trustStatements: (scope) => irsaStatements(scope.providerArns, scope.serviceAccounts, scope.audience),
    handOver: (ctx) => {
        serviceAccounts(ctx, true);
        return { podIdentityAssociationId: "", podEnvironment: chainedProfile(ctx) };
    },
};
