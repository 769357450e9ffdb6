using Qwen.Server.Hosting;

namespace Qwen.Server.Tests.Hosting;

/// <summary>generation_config.json's max_new_tokens: read when it is a positive integer, else no default.</summary>
public sealed class GenerationDefaultsTests
{
    [Theory]
    [InlineData("""{"temperature":0.7}""", null)]
    [InlineData("""{"max_new_tokens":256}""", 256)]
    [InlineData("""{"max_new_tokens":0}""", null)]
    [InlineData("""{"max_new_tokens":null}""", null)]
    public void Load_MaxNewTokens(string json, int? expected)
    {
        var dir = Directory.CreateTempSubdirectory("qwen-generation-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "generation_config.json"), json);
            Assert.Equal(expected, GenerationDefaults.Load(dir).MaxNewTokens);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
