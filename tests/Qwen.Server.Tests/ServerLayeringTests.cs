using System.Text.RegularExpressions;
using Qwen.Server.Tests.Deploy;

namespace Qwen.Server.Tests;

/// <summary>
/// The server's namespaces form layers (no cycles): each file's namespace and the sibling namespaces it uses, read from
/// its <c>using Qwen.Server.X;</c> lines and its partly or fully qualified references (<c>Errors.ApiException</c>).
/// The composition root (namespace <c>Qwen.Server</c> itself) may use every layer; no layer may use it.
/// </summary>
public sealed partial class ServerLayeringTests
{
    private static readonly string[] Layers = ["Endpoints", "Errors", "Generation", "Hosting", "Observability", "Protocol", "Validation"];

    [Fact]
    public void Namespaces_DependOnEachOtherWithoutCycles()
    {
        var edges = Edges();
        Assert.NotEmpty(edges); // the reading works: Endpoints uses Protocol at least
        Assert.Contains(("Endpoints", "Protocol"), edges);
        var cycles = new List<string>();
        foreach (var layer in Layers)
        {
            if (PathBack(layer, layer, edges, []) is { } path)
            {
                cycles.Add(string.Join(" → ", path));
            }
        }
        Assert.True(cycles.Count == 0, "namespace cycles: " + string.Join("; ", cycles) + "\nedges: " + string.Join(", ", edges.Select(e => $"{e.From}→{e.To}")));
    }

    [Fact]
    public void CompositionRoot_IsUsedByNoLayer()
        => Assert.DoesNotContain(Edges(), e => e.To == "");

    /// <summary>Every (namespace, sibling namespace it uses) pair; "" is the root namespace Qwen.Server.</summary>
    private static HashSet<(string From, string To)> Edges()
    {
        var root = Path.Combine(RepoRoot.Path, "src", "Qwen.Server");
        var edges = new HashSet<(string, string)>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal)))
        {
            var text = File.ReadAllText(file);
            var from = NamespaceRegex().Match(text) is { Success: true } m ? m.Groups[1].Value : "";
            var code = string.Join('\n', text.Split('\n').Where(l => !l.TrimStart().StartsWith("///", StringComparison.Ordinal) && !l.TrimStart().StartsWith("//", StringComparison.Ordinal)));
            foreach (Match u in UsingRegex().Matches(code))
            {
                edges.Add((from, u.Groups[1].Value));
            }
            foreach (Match q in QualifiedRegex().Matches(code))
            {
                edges.Add((from, q.Groups[1].Value));
            }
            if (from != "" && RootUseRegex().IsMatch(code))
            {
                edges.Add((from, ""));
            }
        }
        edges.RemoveWhere(e => e.Item1 == e.Item2);
        return edges;
    }

    private static List<string>? PathBack(string start, string at, HashSet<(string From, string To)> edges, List<string> seen)
    {
        foreach (var next in edges.Where(e => e.From == at).Select(e => e.To))
        {
            if (next == start)
            {
                return [start, .. seen, start];
            }
            if (!seen.Contains(next) && PathBack(start, next, edges, [.. seen, next]) is { } path)
            {
                return path;
            }
        }
        return null;
    }

    [GeneratedRegex(@"^namespace Qwen\.Server(?:\.([A-Za-z]+))?;", RegexOptions.Multiline)]
    private static partial Regex NamespaceRegex();

    [GeneratedRegex(@"^using Qwen\.Server\.([A-Za-z]+);", RegexOptions.Multiline)]
    private static partial Regex UsingRegex();

    [GeneratedRegex(@"(?<![\w.])(?:Qwen\.Server\.)?(Endpoints|Errors|Generation|Hosting|Observability|Protocol|Validation)\.[A-Z]")]
    private static partial Regex QualifiedRegex();

    [GeneratedRegex(@"\b(QwenServerApp)\b")]
    private static partial Regex RootUseRegex();
}
