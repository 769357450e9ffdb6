using Qwen.OnnxExport.Checkpoint;
using Qwen.Tokenization.Chat;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Bench.Tests;

public class AgentConversationTests
{
    private static readonly Lazy<(ChatTemplate Template, QwenTokenizer Tokenizer)> Qwen = new(() =>
        (ChatTemplate.FromDirectory(RandomCheckpoint.AssetsDirectory), QwenTokenizer.FromDirectory(RandomCheckpoint.AssetsDirectory)));

    [Theory]
    [InlineData(5, 2000)]
    [InlineData(5, 2001)]
    [InlineData(5, 2002)]
    [InlineData(5, 2003)]
    [InlineData(3, 700)]
    [InlineData(1, 333)]
    public void Fit_CharacterCount_IsAsCloseAsALinearScanFinds(int turns, int target)
    {
        // A count the test defines: three quarters of the characters the conversation wrote, so that one more character per
        // result moves the count by several and the nearest length is sometimes below the target, sometimes above.
        static int Count(AgentConversation c, int turn) => c.Through(turn).Sum(m => m.Content.Length + m.ToolCalls.Sum(t => t.Name.Length + t.Arguments.Length)) * 3 / 4;

        var fitted = AgentConversation.Fit(7, turns, target, Count);

        var best = int.MaxValue;
        for (var chars = 0; ; chars++)
        {
            var n = Count(AgentConversation.Create(7, turns, chars), turns);
            best = Math.Min(best, Math.Abs(n - target));
            if (n > target)
            {
                break;
            }
        }
        Assert.Equal(best, Math.Abs(Count(fitted, turns) - target));
    }

    [Fact]
    public void Fit_TargetBelowEmptyResults_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AgentConversation.Fit(1, 5, 10, (c, turn) => 100 + c.ResultChars));
    }

    [Fact]
    public void Create_LongerResults_ExtendTheShorterOnes()
    {
        // Fit bisects on the results' length: it relies on a longer result starting with the shorter one.
        var (shortOne, longOne) = (AgentConversation.Create(3, 4, 300), AgentConversation.Create(3, 4, 1000));
        var pairs = shortOne.Through(4).Zip(longOne.Through(4)).ToList();
        Assert.All(pairs.Where(p => p.First.Role == ChatRole.Tool), p =>
        {
            Assert.Equal(300, p.First.Content.Length);
            Assert.StartsWith(p.First.Content, p.Second.Content, StringComparison.Ordinal);
        });
        Assert.All(pairs.Where(p => p.First.Role != ChatRole.Tool), p =>
        {
            Assert.Equal((p.First.Role, p.First.Content), (p.Second.Role, p.Second.Content));
            Assert.Equal(p.First.ToolCalls, p.Second.ToolCalls);
        });
    }

    [Fact]
    public void Fit_QwenTokens_TurnsGrowToTheTargetAndEachRequestExtendsTheLast()
    {
        var (template, tokenizer) = Qwen.Value;
        int[] Encode(AgentConversation c, int turn)
        {
            var rendered = template.RenderPrompt(c.Through(turn), c.Tools, addGenerationPrompt: true, CancellationToken.None);
            return tokenizer.Encode(rendered.Text, rendered.Content, CancellationToken.None);
        }

        var conversation = AgentConversation.Fit(100, 5, 2000, (c, turn) => Encode(c, turn).Length);

        var requests = Enumerable.Range(1, 5).Select(turn => Encode(conversation, turn)).ToArray();
        Assert.InRange(requests[^1].Length, 1990, 2010);
        var assistant = tokenizer.Encode("<|im_start|>assistant\n");
        for (var k = 0; k < 4; k++)
        {
            // Each request ends with the generation prompt; all before it is the start of the next request.
            Assert.Equal(assistant, requests[k][^assistant.Length..]);
            var kept = requests[k].Length - assistant.Length;
            Assert.Equal(requests[k][..kept], requests[k + 1][..kept]);
            Assert.True(requests[k + 1].Length > requests[k].Length + 100, $"turn {k + 2} adds a turn's messages");
        }
        var text = template.Render(conversation.Through(5), conversation.Tools, addGenerationPrompt: true);
        // The five scripted calls (search, read, search, read, search) and their results, as the template writes them.
        Assert.Equal(3, Occurrences(text, "<tool_call>\n{\"name\": \"search_code\", \"arguments\": {\"query\": \"kind "));
        Assert.Equal(2, Occurrences(text, "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"src/Module"));
        Assert.Equal(5, Occurrences(text, "<tool_response>\n"));
        Assert.EndsWith("</tool_response><|im_end|>\n<|im_start|>assistant\n", text, StringComparison.Ordinal);
    }

    private static int Occurrences(string text, string part)
    {
        var (n, i) = (0, 0);
        while ((i = text.IndexOf(part, i, StringComparison.Ordinal)) >= 0)
        {
            (n, i) = (n + 1, i + part.Length);
        }
        return n;
    }
}
