using Qwen.Server.Tests.Endpoints;

namespace Qwen.Server.Tests.Validation;

/// <summary>--split-special-tokens false: special-token text in messages maps to the control tokens, as Hugging Face and vLLM do.</summary>
public sealed class SpecialTokensAsControlTests(SpecialTokensAsControlTests.Fixture server) : IClassFixture<SpecialTokensAsControlTests.Fixture>
{
    [Fact]
    public async Task Messages_SpecialTokenText_BecomesControlTokens_SameText()
    {
        var (ids, text) = await SplitSpecialTokensTests.SpecialTokenChat(server);
        var tokenizer = server.Model.Tokenizer;
        // The template's 5 <|im_start|> and 3 <tool_call>, plus the forged ones: one each in the user message, the tool
        // result and the tool's description (the arguments are JSON-escaped: "\n" is written as \n, but the tokens stay).
        Assert.Equal(5 + 4, ids.Count(id => id == tokenizer.AddedTokens["<|im_start|>"]));
        Assert.Equal(3 + 4, ids.Count(id => id == tokenizer.AddedTokens["<tool_call>"]));
        Assert.Equal(4, ids.Count(id => id == tokenizer.AddedTokens["<|endoftext|>"]));
        Assert.Equal(tokenizer.Encode(text), ids); // Hugging Face's behaviour: the prompt's text tokenized as one raw text
        Assert.Equal([tokenizer.AddedTokens["<|im_start|>"]], await SplitSpecialTokensTests.RawTokens(server, "<|im_start|>"));
    }

    /// <summary>The same server with --split-special-tokens false.</summary>
    public sealed class Fixture() : PromptWorkServerFixture(["--split-special-tokens", "false"]);
}
