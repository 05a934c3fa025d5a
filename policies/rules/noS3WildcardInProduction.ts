import { patternsTouching, serviceActions } from "../lib/actions";
import { analyseDocument } from "../lib/grants";
import { MANAGED_POLICY_SOURCE, S3_EXPRESS_FULL_ACCESS_MANAGED_POLICIES, S3_FULL_ACCESS_MANAGED_POLICIES } from "../lib/managedPolicies.generated";
import { attachedPolicyArns, managedPolicyName, grantingDocuments } from "../lib/resources";
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
        `or bucket policy (one statement or several together), and no AWS managed policy that does (${Object.keys(S3_FULL_ACCESS_MANAGED_POLICIES).length} for S3, ` +
        `${Object.keys(S3_EXPRESS_FULL_ACCESS_MANAGED_POLICIES).length} for S3 Express, of ` +
        `${MANAGED_POLICY_SOURCE.policies}, as of ${MANAGED_POLICY_SOURCE.lastUpdated}).`,
    check: async (resource) => {
        const findings: Finding[] = [];
        const s3Catalog = await serviceActions("s3");
        const expressCatalog = await serviceActions("s3express");
        for (const carried of grantingDocuments(resource)) {
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
            // Statements that each grant part, and together every action (an action allowed by a second statement is allowed).
            for (const [service, combined] of [
                ["S3", analysis.combined.s3],
                ["S3 Express (directory bucket)", analysis.combined.s3express],
            ] as const) {
                if (!combined) continue;
                findings.push({
                    level: "mandatory",
                    message:
                        `${resource.type} "${resource.name}" ${carried.where}: statements ${combined.statements.map((st) => st.label).join(", ")} together grant every ${service} ` +
                        `action on Resource "${combined.on}". Production stacks must list only the actions the workload needs.`,
                });
            }
        }
        for (const { where, arn } of attachedPolicyArns(resource)) {
            const name = managedPolicyName(arn);
            if (name === undefined) continue;
            // One finding per attachment, naming S3, S3 Express (directory buckets) or both.
            const wide = [
                ["S3", S3_FULL_ACCESS_MANAGED_POLICIES[name]],
                ["S3 Express (directory bucket)", S3_EXPRESS_FULL_ACCESS_MANAGED_POLICIES[name]],
            ].filter((entry): entry is [string, string] => entry[1] !== undefined);
            if (wide.length === 0) continue;
            findings.push({
                level: "mandatory",
                message:
                    `${resource.type} "${resource.name}" ${where}: attaches ${arn}, which grants ${wide.map(([service, on]) => `every ${service} action on Resource "${on}"`).join(" and ")}. ` +
                    `Production stacks must attach a policy that lists only the actions and buckets the workload needs.`,
            });
        }
        return findings;
    },
});
