namespace Qwen.Tokenization.Tests;

/// <summary>Paths of the golden files copied from ../shared/qwen2.5 into this test project.</summary>
internal static class GoldenFiles
{
    public static string Path(string name)
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir, "Qwen.Tokenization.Tests.csproj")))
        {
            dir = System.IO.Path.GetDirectoryName(dir);
        }
        return System.IO.Path.Combine(dir ?? throw new InvalidOperationException("test project directory not found"), "Golden", name);
    }
}
