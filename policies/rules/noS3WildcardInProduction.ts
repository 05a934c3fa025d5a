import { grantsEveryAction, patternsTouching, serviceActions } from "../lib/actions";
import { allowStatements } from "../lib/documents";
import { attachedPolicyArns, permissionDocuments } from "../lib/resources";
import { Finding, productionOnlyResourceRule } from "../lib/rule";

/**
 * AWS managed policies that grant every S3 action (in any partition): `s3:*` (AmazonS3FullAccess), `*`
 * (AdministratorAccess), or `NotAction` that leaves S3 in (PowerUserAccess).
 */
export const S3_FULL_ACCESS_MANAGED_POLICIES = ["AmazonS3FullAccess", "AdministratorAccess", "PowerUserAccess"];
const MANAGED_POLICY = /^arn:[a-z-]+:iam::aws:policy\/(?:.*\/)?([^/]+)$/;

/** Checks that no Allow statement, and no attached AWS managed policy, grants every S3 action in production. */
export const noS3WildcardInProduction = productionOnlyResourceRule({
    name: "no-s3-wildcard-in-production",
    description:
        "Checks that production stacks grant no principal every S3 action: no s3:*, *, S3 wildcards that cover the whole " +
        "S3 catalog or NotAction that leaves S3 in, in any IAM or bucket policy, and no AWS managed policy that does.",
    check: async (resource) => {
        const findings: Finding[] = [];
        const s3Catalog = await serviceActions("s3");
        for (const carried of permissionDocuments(resource)) {
            for (const statement of allowStatements(carried.document)) {
                if (!(await grantsEveryAction("s3", statement))) continue;
                const how =
                    statement.actions !== undefined
                        ? `Action ${JSON.stringify(patternsTouching(statement.actions, s3Catalog))}`
                        : `NotAction ${JSON.stringify(statement.notActions)}, which leaves every S3 action in`;
                findings.push({
                    level: "mandatory",
                    message:
                        `${resource.type} "${resource.name}" ${carried.where}: statement ${statement.label} grants every S3 action ` +
                        `through ${how}. Production stacks must list only the S3 actions the workload needs ` +
                        `(RayS3Access grants read or readWrite per bucket and prefix).`,
                });
            }
        }
        for (const { where, arn } of attachedPolicyArns(resource)) {
            const managed = MANAGED_POLICY.exec(arn);
            if (managed && S3_FULL_ACCESS_MANAGED_POLICIES.includes(managed[1])) {
                findings.push({
                    level: "mandatory",
                    message:
                        `${resource.type} "${resource.name}" ${where}: attaches ${arn}, which grants every S3 action. ` +
                        `Production stacks must attach a policy that lists only the S3 actions and buckets the workload needs.`,
                });
            }
        }
        return findings;
    },
});
