import { associations, chainedProfile, serviceAccounts } from "./identityChildren";
import { irsaStrategy } from "./identityIrsa";
import { podIdentityStrategy } from "./identityPodIdentity";
import { IdentityStrategy } from "./identityStrategy";
import { IdentityType } from "./types";

/**
 * The IRSA to Pod Identity migration: the role trusts both the service accounts' web identity and the pinned Pod
 * Identity request, the ServiceAccount keeps its annotation and the associations exist. EKS gives new pods Pod
 * Identity (an association takes precedence over the annotation in its webhook); pods created before keep IRSA
 * until they restart, and the trust keeps admitting them.
 */
export const irsaAndPodIdentityStrategy: IdentityStrategy = {
    identity: IdentityType.IrsaAndPodIdentity,
    webIdentity: true,
    podIdentity: true,
    trustStatements: (scope) => [...irsaStrategy.trustStatements(scope), ...podIdentityStrategy.trustStatements(scope)],
    handOver: (ctx) => {
        // The annotation stays until the migration's second step drops it.
        serviceAccounts(ctx, ctx.valid.annotateServiceAccount);
        // No external-id pin: the IRSA path's profile passes none, and it must keep working during the migration.
        return { podIdentityAssociationId: associations(ctx).primary, podEnvironment: chainedProfile(ctx) };
    },
};
