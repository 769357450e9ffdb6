namespace Qwen.Tokenization.Tests;

/// <summary>Files of the repository the tests read (the bundled Qwen2.5 tokenizer and template).</summary>
internal static class RepoPaths
{
    public static string Root
    {
        get
        {
            var dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "Qwen.Server.sln")))
            {
                dir = Path.GetDirectoryName(dir);
            }
            return dir ?? throw new InvalidOperationException("repository root not found");
        }
    }

    public static string QwenAssets => Path.Combine(Root, "onnx-export", "assets", "qwen2.5");
}
