import { irsaStrategy } from "./identityIrsa";
import { podIdentityStrategy } from "./identityPodIdentity";
import { IdentityStrategy } from "./identityStrategy";
import { IdentityType } from "./types";

/**
 * The IRSA to Pod Identity migration: the role trusts both the service accounts' web identity and the pinned Pod
 * Identity request, the ServiceAccount keeps its annotation and the associations exist. The SDKs' credential
 * chains try web identity before container credentials, so pods keep using IRSA until the annotation goes and
 * they restart.
 */
export const irsaAndPodIdentityStrategy: IdentityStrategy = {
    identity: IdentityType.IrsaAndPodIdentity,
    webIdentity: true,
    podIdentity: true,
    trustStatements: (scope) => [...irsaStrategy.trustStatements(scope), ...podIdentityStrategy.trustStatements(scope)],
};
