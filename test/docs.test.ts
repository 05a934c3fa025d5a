import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderReadme } from "../scripts/gen-docs";

describe("README", () => {
    it("its Inputs and Outputs tables match the component's source (run `npm run docs` to regenerate)", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
        assert.equal(renderReadme(readme), readme);
    });

    it("gives the two set-up commands of a fresh clone", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
        assert.match(readme, /npm ci && npm test/);
        assert.match(readme, /npm ci && npm start -- render --stack dev && npm start -- check --stack dev/);
    });
});
