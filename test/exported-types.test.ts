/**
 * Every type a program author meets in the component's public signature is exported by `ray-s3-access` (issue:
 * program authors): the test walks the types of `RayS3AccessArgs` and of `RayS3Access`'s public members with the
 * TypeScript checker and fails on a type declared in this package that the entry point does not export.
 */
import { strict as assert } from "assert";
import * as path from "path";
import * as ts from "typescript";

const ENTRY = path.join(__dirname, "..", "components", "index.ts");
const COMPONENTS = path.join(__dirname, "..", "components") + path.sep;

describe("the component's public types", function () {
    this.timeout(60_000);

    it("every type the arguments and the component's public members use is exported from the package", () => {
        const program = ts.createProgram([ENTRY], {
            strict: true,
            target: ts.ScriptTarget.ES2022,
            module: ts.ModuleKind.CommonJS,
            esModuleInterop: true,
            skipLibCheck: true,
        });
        const checker = program.getTypeChecker();
        const entry = program.getSourceFile(ENTRY)!;
        const exported = new Set(checker.getExportsOfModule(checker.getSymbolAtLocation(entry)!).map((s) => s.getName()));
        const missing = new Map<string, string>();
        const seen = new Set<ts.Type>();

        const ownDeclaration = (symbol: ts.Symbol | undefined) =>
            symbol?.declarations?.find(
                (d) =>
                    path.resolve(d.getSourceFile().fileName).startsWith(COMPONENTS) &&
                    (ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d) || ts.isEnumDeclaration(d) || ts.isClassDeclaration(d)),
            );
        const walk = (type: ts.Type, where: string) => {
            if (seen.has(type)) return;
            seen.add(type);
            for (const symbol of [type.aliasSymbol, type.getSymbol()]) {
                const declaration = ownDeclaration(symbol);
                if (declaration && !exported.has(symbol!.getName())) missing.set(symbol!.getName(), where);
            }
            for (const argument of type.aliasTypeArguments ?? []) walk(argument, where);
            if (type.isUnionOrIntersection()) for (const member of type.types) walk(member, where);
            if (checker.isArrayType(type) || checker.isTupleType(type))
                for (const element of checker.getTypeArguments(type as ts.TypeReference)) walk(element, where);
            if ((type.getFlags() & ts.TypeFlags.Object) !== 0 && ownDeclaration(type.getSymbol()) !== undefined) {
                for (const property of checker.getPropertiesOfType(type)) {
                    const declaration = property.valueDeclaration ?? property.declarations?.[0];
                    if (!declaration) continue;
                    const modifiers = ts.canHaveModifiers(declaration) ? ts.getModifiers(declaration) : undefined;
                    if (modifiers?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
                    walk(checker.getTypeOfSymbolAtLocation(property, declaration), `${where}.${property.getName()}`);
                    // The written type too: an alias of literals (`kind?: BucketKind`) survives only in the source.
                    const written = (declaration as ts.PropertyDeclaration).type;
                    if (written) walkNode(written, `${where}.${property.getName()}`);
                }
            }
            // Input<T> and Output<T> wrap the types an author writes: walk their arguments too.
            if ((type.getFlags() & ts.TypeFlags.Object) !== 0 && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) {
                for (const argument of checker.getTypeArguments(type as ts.TypeReference)) walk(argument, where);
            }
        };

        const walkNode = (node: ts.Node, where: string): void => {
            if (ts.isTypeReferenceNode(node)) {
                let symbol = checker.getSymbolAtLocation(node.typeName);
                if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
                if (ownDeclaration(symbol) && !exported.has(symbol!.getName())) missing.set(symbol!.getName(), where);
            }
            ts.forEachChild(node, (child) => walkNode(child, where));
        };

        const args = checker.getExportsOfModule(checker.getSymbolAtLocation(entry)!).find((s) => s.getName() === "RayS3AccessArgs")!;
        walk(checker.getDeclaredTypeOfSymbol(checker.getAliasedSymbol(args)), "RayS3AccessArgs");
        const component = checker.getAliasedSymbol(checker.getExportsOfModule(checker.getSymbolAtLocation(entry)!).find((s) => s.getName() === "RayS3Access")!);
        walk(checker.getDeclaredTypeOfSymbol(component), "RayS3Access");
        assert.ok(seen.size > 20, `walked ${seen.size} types`);
        assert.deepEqual(
            [...missing].map(([name, where]) => `${name} (used at ${where})`),
            [],
            "types in the public signature that ray-s3-access does not export",
        );
    });
});
