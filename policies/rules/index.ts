/**
 * Every rule of the pack, with no side effects: tests and the runner's offline `check` import this; the
 * PolicyPack itself is built in ../index.ts.
 */
import type { Policies } from "@pulumi/policy";
import { permissionsBoundaryPolicies } from "./boundaryPolicies";
import { rayPodsUseTheServiceAccount } from "./rayPodsServiceAccount";
import { directoryBucketReadSessions } from "./directoryBucketReadSessions";
import { iamStatementsWellFormed } from "./iamStatementsWellFormed";
import { irsaTrustPinned } from "./irsaTrustPinned";
import { noBucketAdminForWorkloads } from "./noBucketAdminForWorkloads";
import { noS3WildcardInProduction } from "./noS3WildcardInProduction";
import { serviceAccountRoleTrustMatch } from "./serviceAccountRoleTrustMatch";
import { trustPrincipalsPinned } from "./trustPrincipalsPinned";

export {
    permissionsBoundaryPolicies,
    rayPodsUseTheServiceAccount,
    directoryBucketReadSessions,
    iamStatementsWellFormed,
    irsaTrustPinned,
    noBucketAdminForWorkloads,
    noS3WildcardInProduction,
    serviceAccountRoleTrustMatch,
    trustPrincipalsPinned,
};

export const policies: Policies = [
    noS3WildcardInProduction,
    ...irsaTrustPinned,
    ...trustPrincipalsPinned,
    ...noBucketAdminForWorkloads,
    serviceAccountRoleTrustMatch,
    iamStatementsWellFormed,
    ...directoryBucketReadSessions,
    ...permissionsBoundaryPolicies,
    rayPodsUseTheServiceAccount,
];
