using System.Text.RegularExpressions;

namespace Qwen.Server.Hosting;

/// <summary>
/// The exact onnx-export command for a Hugging Face checkpoint, runnable from any directory: the exporter project by its
/// absolute path when this server runs from a clone of the repository, otherwise a note to run it from a clone's root;
/// paths are made absolute and quoted for a POSIX shell.
/// </summary>
public static partial class ExportHint
{
    /// <summary>The command exporting <paramref name="checkpoint"/> to <paramref name="output"/> at int4 (the fast CPU choice).</summary>
    public static string Command(string checkpoint, string output)
        => Build(Quote(Path.GetFullPath(checkpoint)), Quote(Path.GetFullPath(output)));

    /// <summary>The command with placeholders, for the demo model's warning.</summary>
    public static string Template() => Build("<hf-dir>", "<dir>");

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

    private static string Build(string input, string output)
    {
        var project = FindExporterProject();
        var command = $"dotnet run -c Release --project {(project is null ? "onnx-export" : Quote(project))} -- --input {input} --output {output} --precision int4";
        return project is null ? $"{command} (run it from the root of a Qwen.Server clone)" : command;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_./:=+@%,-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex PlainRegex();
}
