using System.Text;
using System.Text.RegularExpressions;

namespace Qwen.Server.Tests.Deploy;

/// <summary>
/// The image's build context (the repository less .dockerignore) keeps what `QWEN_MODEL=demo` needs: the publish step
/// copies the exporter's bundled tokenizer and template (onnx-export/assets) into the app, and the publish test checks
/// the app, but a .dockerignore pattern such as <c>**/*.json</c> would drop them before the image's publish runs.
/// </summary>
public sealed class DockerIgnoreTests
{
    [Fact]
    public async Task BuildContext_KeepsTheDemoAssets_AndLeavesOutModelsAndBuildOutput()
    {
        var patterns = (await File.ReadAllLinesAsync(Path.Combine(RepoRoot.Path, ".dockerignore")))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var assets = Directory.GetFiles(Path.Combine(RepoRoot.Path, "onnx-export", "assets"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(RepoRoot.Path, f).Replace('\\', '/')).ToList();
        Assert.Contains("onnx-export/assets/qwen2.5/vocab.json", assets);
        Assert.All(assets.Append("deploy/publish.sh").Append("src/Qwen.Server/Qwen.Server.csproj"), f => Assert.False(Excluded(patterns, f), $"{f} is left out of the build context"));

        // The matcher is not vacuous: what the file means to leave out is left out.
        Assert.True(Excluded(patterns, "models/qwen2.5-7b-instruct-int4-cuda/model.onnx"));
        Assert.True(Excluded(patterns, "src/Qwen.Server/bin/Release/net10.0/Qwen.Server.dll"));
        Assert.True(Excluded(patterns, "deploy/validate/node_modules/yaml/package.json"));
    }

    /// <summary>
    /// Docker's rule: patterns are read in order, the last one that matches the path or one of its parent directories
    /// decides, and a leading ! keeps what it matches. * and ? stay within one path element, ** spans any number.
    /// </summary>
    private static bool Excluded(IEnumerable<string> patterns, string path)
    {
        var excluded = false;
        foreach (var line in patterns)
        {
            var keep = line.StartsWith('!');
            var regex = ToRegex(line.TrimStart('!').Trim('/'));
            var prefix = "";
            foreach (var element in path.Split('/'))
            {
                prefix = prefix.Length == 0 ? element : $"{prefix}/{element}";
                if (regex.IsMatch(prefix))
                {
                    excluded = !keep;
                    break;
                }
            }
        }
        return excluded;
    }

    private static Regex ToRegex(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern.AsSpan(i).StartsWith("**/"))
            {
                regex.Append("(.*/)?");
                i += 2;
            }
            else if (pattern.AsSpan(i).StartsWith("**"))
            {
                regex.Append(".*");
                i++;
            }
            else
            {
                regex.Append(pattern[i] switch { '*' => "[^/]*", '?' => "[^/]", var c => Regex.Escape(c.ToString()) });
            }
        }
        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
