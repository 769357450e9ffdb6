using System.Text.RegularExpressions;

namespace Qwen.Server.Hosting;

/// <summary>
/// The exact onnx-export command for a Hugging Face checkpoint, runnable from any directory: the exporter project by its
/// absolute path when this server runs from a clone of the repository, otherwise a note to run it from a clone's root;
/// paths are made absolute and quoted for a POSIX shell.
/// </summary>
public static partial class ExportHint
{
    /// <summary>
    /// The command exporting <paramref name="checkpoint"/> to <paramref name="output"/> at int4 for <paramref name="executionProvider"/>:
    /// the fast choice on the CPU, and on CUDA the one that fits the largest models (float16 around the int4 weights).
    /// </summary>
    public static string Command(string checkpoint, string output, string executionProvider)
        => Build(Quote(Path.GetFullPath(checkpoint)), Quote(Path.GetFullPath(output)), executionProvider);

    /// <summary>The onnx-export project directory of the clone this server runs from, or null (a published or container build).</summary>
    public static string? FindExporterProject()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "onnx-export", "Qwen.OnnxExport.csproj")))
            {
                return Path.Combine(dir, "onnx-export");
            }
        }
        return null;
    }

    /// <summary>Quotes <paramref name="value"/> for a POSIX shell when it holds anything but plain path characters.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return PlainRegex().IsMatch(value) ? value : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    private static string Build(string input, string output, string executionProvider)
    {
        var project = FindExporterProject();
        var target = executionProvider == "cuda" ? " --target cuda" : "";
        var command = $"dotnet run -c Release --project {(project is null ? "onnx-export" : Quote(project))} -- --input {input} --output {output} --precision int4{target}";
        return project is null ? $"{command} (run it from the root of a Qwen.Server clone)" : command;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_./:=+@%,-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex PlainRegex();
}
