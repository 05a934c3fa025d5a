import { associations, serviceAccounts } from "./identityChildren";
import { IdentityStrategy } from "./identityStrategy";
import { podIdentityStatements, sharedPodIdentityStatement, untaggedPodIdentityStatement } from "./trustPolicy";
import { IdentityType, RoleSharing } from "./types";

/**
 * EKS Pod Identity: the agent's statement pinned to the account and every cluster, per service account (or once,
 * for an ABAC role whose permissions isolate namespaces by session tag); with session tags off, the account only.
 */
export const podIdentityStrategy: IdentityStrategy = {
    identity: IdentityType.PodIdentity,
    webIdentity: false,
    podIdentity: true,
    trustStatements: (scope) =>
        scope.sessionTags === false
            ? [untaggedPodIdentityStatement(scope)]
            : scope.roleSharing === RoleSharing.Abac
              ? [sharedPodIdentityStatement({ accountId: scope.accountId, clusterName: scope.clusterNames })]
              : podIdentityStatements({ accountId: scope.accountId, clusterName: scope.clusterNames, serviceAccounts: scope.serviceAccounts }),
    handOver: (ctx) => {
        serviceAccounts(ctx, false);
        const { primary, externalIds } = associations(ctx);
        return { podIdentityAssociationId: primary, podEnvironment: {}, externalIds };
    },
};
