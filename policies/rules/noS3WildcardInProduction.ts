import { patternsTouching, serviceActions } from "../lib/actions";
import { analyseDocument } from "../lib/grants";
import { MANAGED_POLICY_SOURCE, S3_FULL_ACCESS_MANAGED_POLICIES } from "../lib/managedPolicies.generated";
import { attachedPolicyArns, managedPolicyName, permissionDocuments } from "../lib/resources";
import { Finding, productionOnlyResourceRule } from "../lib/rule";

/**
 * Checks that no statement grants every S3 action in production: its Action (or NotAction) names the whole S3
 * catalog, and on one of its resources every S3 action that can apply there is still granted once the resource
 * types and the document's Deny statements are taken into account. AWS managed policies are judged the same way,
 * ahead of time (S3_FULL_ACCESS_MANAGED_POLICIES).
 */
export const noS3WildcardInProduction = productionOnlyResourceRule({
    name: "no-s3-wildcard-in-production",
    description:
        "Checks that production stacks grant no principal every S3 action: no s3:*, *, S3 wildcards that cover the whole " +
        "S3 catalog or NotAction that leaves S3 in, on a resource S3 actions apply to and not taken back by a Deny, in any IAM " +
        `or bucket policy, and no AWS managed policy that does (${Object.keys(S3_FULL_ACCESS_MANAGED_POLICIES).length} of ` +
        `${MANAGED_POLICY_SOURCE.policies}, as of ${MANAGED_POLICY_SOURCE.lastUpdated}).`,
    check: async (resource) => {
        const findings: Finding[] = [];
        const s3Catalog = await serviceActions("s3");
        const expressCatalog = await serviceActions("s3express");
        for (const carried of permissionDocuments(resource)) {
            const analysis = await analyseDocument(carried.document, carried.kind);
            // One finding per statement, naming S3, S3 Express (directory buckets) or both.
            const wide = [...analysis.s3, ...analysis.s3express].filter((g) => g.everyActionOn !== undefined).map((g) => g.statement);
            for (const statement of [...new Set(wide)]) {
                const s3 = analysis.s3.find((g) => g.statement === statement)?.everyActionOn;
                const express = analysis.s3express.find((g) => g.statement === statement)?.everyActionOn;
                const services = [...(s3 !== undefined ? ["S3"] : []), ...(express !== undefined ? ["S3 Express (directory bucket)"] : [])].join(" and every ");
                const catalog = s3 !== undefined ? s3Catalog : expressCatalog;
                const how =
                    statement.actions !== undefined
                        ? `Action ${JSON.stringify(patternsTouching(statement.actions, catalog))}`
                        : `NotAction ${JSON.stringify(statement.notActions)}, which leaves every ${services} action in`;
                const everyActionOn = (s3 ?? express)!;
                const on = statement.resources !== undefined ? `Resource "${everyActionOn}"` : `NotResource ${JSON.stringify(statement.notResources)}`;
                findings.push({
                    level: "mandatory",
                    message:
                        `${resource.type} "${resource.name}" ${carried.where}: statement ${statement.label} grants every ${services} action ` +
                        `through ${how} on ${on}. Production stacks must list only the actions the workload needs ` +
                        `(RayS3Access grants read or readWrite per bucket and prefix, and CreateSession for directory buckets).`,
                });
            }
        }
        for (const { where, arn } of attachedPolicyArns(resource)) {
            const name = managedPolicyName(arn);
            const on = name === undefined ? undefined : S3_FULL_ACCESS_MANAGED_POLICIES[name];
            if (on !== undefined) {
                findings.push({
                    level: "mandatory",
                    message:
                        `${resource.type} "${resource.name}" ${where}: attaches ${arn}, which grants every S3 action on Resource "${on}". ` +
                        `Production stacks must attach a policy that lists only the S3 actions and buckets the workload needs.`,
                });
            }
        }
        return findings;
    },
});
