using System.Net;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Validation;

/// <summary>
/// /v1/completions and /detokenize take the same token ids (issue 14: completions took 151,665-151,935, the model's
/// padding rows past the tokenizer's vocabulary, which /detokenize refuses). The boundary comes from the tokenizer's
/// own files in shared/ (151,643 tokens and 22 added ones), not from the server.
/// </summary>
public sealed class PromptTokenIdsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    /// <summary>Qwen2.5's tokenizer: vocab.json's 151,643 ids plus tokenizer.json's 22 added tokens.</summary>
    private const int TokenizerIds = 151_665;

    /// <summary>Rows of Qwen2.5's embedding (config.json's vocab_size).</summary>
    private const int ModelRows = 151_936;

    [Theory]
    [InlineData(0, true)]
    [InlineData(TokenizerIds - 1, true)]
    [InlineData(TokenizerIds, false)]
    [InlineData(TokenizerIds + 1, false)]
    [InlineData(ModelRows - 1, false)]
    [InlineData(ModelRows, false)]
    public async Task CompletionsAndDetokenize_BoundaryId_AgreeOnIt(int id, bool known)
    {
        var (completions, completionsBody) = await PostAsync("/v1/completions", $$"""{"prompt":[9707,{{id}}],"max_tokens":1}""");
        var (detokenize, detokenizeBody) = await PostAsync("/detokenize", $$"""{"tokens":[9707,{{id}}]}""");
        Assert.Equal(known ? HttpStatusCode.OK : HttpStatusCode.BadRequest, detokenize);
        Assert.Equal(detokenize, completions);
        if (!known)
        {
            Assert.Equal("prompt", JsonDocument.Parse(completionsBody).RootElement.GetProperty("error").GetProperty("param").GetString());
            Assert.Equal("tokens", JsonDocument.Parse(detokenizeBody).RootElement.GetProperty("error").GetProperty("param").GetString());
        }
    }

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string path, string json)
    {
        using var response = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
