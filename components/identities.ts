import { irsaStrategy } from "./identityIrsa";
import { irsaAndPodIdentityStrategy } from "./identityIrsaAndPodIdentity";
import { podIdentityStrategy } from "./identityPodIdentity";
import { IdentityStrategy, TrustScope } from "./identityStrategy";
import { PolicyDocument } from "./s3Policy";
import { IdentityType } from "./types";

export { IdentityStrategy, TrustScope };

const STRATEGIES: Record<IdentityType, IdentityStrategy> = {
    [IdentityType.Irsa]: irsaStrategy,
    [IdentityType.PodIdentity]: podIdentityStrategy,
    [IdentityType.IrsaAndPodIdentity]: irsaAndPodIdentityStrategy,
};

export function identityStrategy(identity: IdentityType): IdentityStrategy {
    return STRATEGIES[identity];
}

/** The role's trust policy for an identity type. */
export function buildTrustPolicy(identity: IdentityType, scope: TrustScope): PolicyDocument {
    return { Version: "2012-10-17", Statement: identityStrategy(identity).trustStatements(scope) };
}
