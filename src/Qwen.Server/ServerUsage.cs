using System.Text;
using Qwen.Server.Hosting;

namespace Qwen.Server;

/// <summary>What <c>--help</c> prints: how to start the server and every setting with its flag, variable, default and meaning.</summary>
public static class ServerUsage
{
    /// <summary>Whether <paramref name="args"/> asks for help (<c>--help</c> or <c>-h</c>): then nothing is loaded.</summary>
    public static bool Asked(IEnumerable<string> args) => args.Any(a => a is "--help" or "-h");

    /// <summary>The help text, one setting per paragraph, in the order of <see cref="ServerOptions.Settings"/> (the README's table).</summary>
    public static string Text()
    {
        var text = new StringBuilder()
            .AppendLine("Usage: qwen-server [--flag value | --flag=value]...")
            .AppendLine("OpenAI-compatible server for Qwen2.5 models exported to ONNX. Without --model it serves the random-weight demo model.")
            .AppendLine("Each setting is a flag, a QWEN_* environment variable or a key of the \"Qwen\" section of appsettings.json (flags win).")
            .AppendLine("Listen address: --urls (default " + QwenServerApp.DefaultUrl + ").")
            .AppendLine();
        foreach (var s in ServerOptions.Settings)
        {
            text.AppendLine($"  {s.Flag} ({s.Env}; default {s.Default})").AppendLine($"      {s.Meaning}");
        }
        return text.ToString();
    }
}
