using System.Text;
using System.Text.RegularExpressions;
using Qwen.Tokenization.Constraints;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>
/// The code-point pattern automaton against .NET's Regex as an independent oracle (search semantics, ECMAScript
/// option where it applies), hand-written expectations where .NET's UTF-16 view differs (non-BMP code points under
/// <c>.</c>, negated classes, non-BMP literals), and a forward brute-force search for <c>CanFinish</c>.
/// </summary>
public sealed class PatternAutomatonTests
{
    // Oracle classes written from the ECMA-262 tables, for the constructs where .NET's definition differs.
    private const string EcmaSpaces = @"\t\n\v\f\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF";
    private const string EcmaDot = @"[^\n\r\u2028\u2029]";

    /// <summary>
    /// Pattern, alphabet for the generated strings, oracle pattern (null: the pattern itself) and whether the oracle
    /// runs with <see cref="RegexOptions.ECMAScript"/>. Alphabets hold non-BMP code points only where .NET's UTF-16
    /// matching is the same as code-point matching (no <c>.</c>, negated class or non-BMP literal in the pattern);
    /// they hold no LF where the pattern ends with <c>$</c> (.NET's <c>$</c> also matches before a final LF).
    /// </summary>
    public static TheoryData<string, string, string?, bool> OracleCases => new()
    {
        { "abc", "abcx😀", null, true },
        { "^abc$", "abc𝐀", null, true },
        { "^abc", "abcx", null, true },
        { "abc$", "abcx", null, true },
        { "a.c", "ac\n\r\u2028\u2029x", "a" + EcmaDot + "c", false },
        { "^.*$", "a\r\u2029", "^" + EcmaDot + "*$", false },
        { "^.{2,3}$", "a\r\u00e9", "^" + EcmaDot + "{2,3}$", false },
        { "[a-c]+", "abcdx😀", null, true },
        { "^[a-c0-2_]+$", "a1_dz3𝐀", null, true },
        { "^[^\"]*$", "a\"b\\", null, true },
        { "^[^a-c]x$", "abdx\n", @"^[^a-c]x\z", false },
        { @"\d+", "0912a😀", null, true },
        { @"^\d{3}$", "0193a", null, true },
        { @"^\D+$", "1a-", null, true },
        { @"^\w+$", "aZ_9-é😀", null, true },
        { @"^\W$", "a-é ", null, true },
        { @"^\s+$", " \t\u00A0\u2003\uFEFF\u0085a", "^[" + EcmaSpaces + "]+$", false },
        { @"^\S\S$", " a\u00A0\u0085\uFEFF", "^[^" + EcmaSpaces + "][^" + EcmaSpaces + "]$", false },
        { @"^[\d\s]+$", "1 a\t", null, true },
        { "^(ab)+$", "abx", null, true },
        { "^(?:ab|cd)*$", "abcd", null, true },
        { "^a(b|c)?d$", "abcd", null, true },
        { "^a{2}$", "ab", null, true },
        { "^a{2,}$", "ab", null, true },
        { "^a{1,3}b$", "ab", null, true },
        { "^(a|b){0,2}c$", "abc", null, true },
        { "^a{0}b$", "ab", null, true },
        { "a*?b", "abc", null, true },
        { "^a+?$", "ab", null, true },
        { "^a??b$", "ab", null, true },
        { "^a{2,3}?$", "ab", null, true },
        { "cat|dog", "cadogt", null, true },
        { "^cat|dog$", "cadogt", null, true },
        { "^(cat|dog)$", "cadogt", null, true },
        { "a|", "ab", null, true },
        { "^(?:)$", "a", null, true },
        { @"\.\\\/", ".\\/a", null, true },
        { @"^\n\t$", "\n\ta", @"^\n\t\z", false },
        { @"\u0041\x42", "ABa", null, true },
        { @"^[\u0041-\u0043]+$", "ABCD", null, true },
        { @"^[a\-z]+$", "a-zb", null, true },
        { "^[-a]+$", "a-b", null, true },
        { "^[a-]+$", "a-b", null, true },
        { @"^\$\^$", "$^a", null, true },
        { @"^(?<year>\d{4})-\d\d$", "12-3", null, false },
        { "^(a|ab)(c|bcd)(d*)$", "abcd", null, true },
        { "((a|b)*c){2}", "abc", null, true },
        { "^a{,3}$", "a{,3}", null, false },
        { "x*", "xy", null, true },
        { "^(?:a|b)*abb$", "ab", null, true },
        { @"^\cJ?x", "\nxa", null, true },
    };

    /// <summary>The patterns of <see cref="OracleCases"/> alone.</summary>
    public static TheoryData<string> OraclePatterns => new(OracleCases.Select(row => (string)row[0]));

    /// <summary>Refused constructs and a word their message must contain.</summary>
    public static TheoryData<string, string> RefusedPatterns => new()
    {
        { @"(a)\1", "backreferences" },
        { @"(?<n>a)\k<n>", "named backreferences" },
        { "a(?=b)", "lookahead" },
        { "a(?!b)", "lookahead" },
        { "(?<=a)b", "lookbehind" },
        { "(?<!a)b", "lookbehind" },
        { @"\bfoo", "word boundary" },
        { @"foo\B", "word boundary" },
        { @"\p{L}", "Unicode property escapes" },
        { @"\P{L}", "Unicode property escapes" },
        { "(?i)abc", "inline flags" },
        { "a^b", "anchors" },
        { "a$b", "anchors" },
        { "(^a)", "anchors" },
        { "(a$)", "anchors" },
        { @"\01", "octal escapes" },
        { @"\q", @"\q" },
        { "a{10001}", "counted repeats" },
        { "(?:a{100}){200}", "NFA states" },
        { "(a|b)*a(a|b){14}", "automaton needs more than" },
    };

    /// <summary>Malformed patterns: an <see cref="ArgumentException"/>, not a <see cref="NotSupportedException"/>.</summary>
    public static TheoryData<string> MalformedPatterns => new() { "(a", "a)", "[a", "*a", "a**", "a{2}{3}", "[z-a]", "a{3,1}", "\\", @"\u12", @"\u{110000}", "(?<>a)" };

    [Theory]
    [MemberData(nameof(OracleCases))]
    public void Compile_OracleCase_AgreesWithRegexSearch(string pattern, string alphabet, string? oracle, bool ecmaScript)
    {
        var automaton = PatternAutomaton.Compile(pattern);
        var regex = new Regex(oracle ?? pattern, ecmaScript ? RegexOptions.ECMAScript : RegexOptions.CultureInvariant);
        var checkedStrings = 0;
        foreach (var s in TestStrings(alphabet, seed: pattern.Length))
        {
            Assert.True(regex.IsMatch(s) == Accepts(automaton, s), $"pattern {pattern} on \"{Escape(s)}\": regex says {regex.IsMatch(s)}");
            checkedStrings++;
        }
        Assert.True(checkedStrings > 100);
    }

    [Theory]
    [InlineData("^.$", "😀", true)]
    [InlineData("^.$", "𝐀", true)]
    [InlineData("^.$", "😀😀", false)]
    [InlineData("^.$", "\n", false)]
    [InlineData("^.$", "\u2028", false)]
    [InlineData("^[^a]$", "😀", true)]
    [InlineData("^[^😀]$", "😀", false)]
    [InlineData("^[^😀]$", "😁", true)]
    [InlineData("^😀+$", "😀😀😀", true)]
    [InlineData("^😀+$", "😀\uDE00", false)]
    [InlineData("^[😀-😂]$", "😁", true)]
    [InlineData("^[😀-😂]$", "😃", false)]
    [InlineData(@"^\u{1F600}$", "😀", true)]
    [InlineData(@"^\u{41}\u{1d400}$", "A𝐀", true)]
    [InlineData(@"^\uD83D\uDE00$", "😀", true)]
    [InlineData(@"^[\uD83D\uDE00-\uD83D\uDE02]$", "😂", true)]
    [InlineData(@"^\S$", "𝐀", true)]
    [InlineData(@"^\W$", "😀", true)]
    [InlineData(@"^\D$", "😀", true)]
    [InlineData(@"^\s$", "\uFEFF", true)]
    [InlineData(@"^\s$", "\u0085", false)]
    [InlineData(@"^\s$", "\u3000", true)]
    [InlineData("^[^]$", "\n", true)]
    [InlineData("^[^]$", "😀", true)]
    [InlineData("[^]", "", false)]
    [InlineData("a[]", "a", false)]
    [InlineData("", "", true)]
    [InlineData("", "anything 😀", true)]
    [InlineData("^$", "", true)]
    [InlineData("^$", "a", false)]
    [InlineData(@"^\w$", "é", false)]
    [InlineData(@"^[\b]$", "\b", true)]
    [InlineData(@"^\0$", "\0", true)]
    [InlineData("^a{2}b$", "aab", true)]
    [InlineData("^[a-z]{2,}😀$", "ab😀", true)]
    [InlineData("^[a-z]{2,}😀$", "a😀", false)]
    [InlineData("^x$", "x\n", false)]
    public void Compile_NonBmpAndEcmaSpecifics_MatchHandWrittenExpectations(string pattern, string s, bool expected)
        => Assert.Equal(expected, Accepts(PatternAutomaton.Compile(pattern), s));

    [Theory]
    [MemberData(nameof(RefusedPatterns))]
    public void Compile_UnsupportedConstruct_ThrowsNotSupportedNamingIt(string pattern, string construct)
    {
        var e = Assert.Throws<NotSupportedException>(() => PatternAutomaton.Compile(pattern));
        Assert.Contains(construct, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(MalformedPatterns))]
    public void Compile_MalformedPattern_ThrowsArgumentException(string pattern)
        => Assert.Throws<ArgumentException>(() => PatternAutomaton.Compile(pattern));

    [Fact]
    public void Compile_UnsatisfiablePattern_StartCannotFinish()
    {
        var automaton = PatternAutomaton.Compile("^a[]b$");
        Assert.False(automaton.CanFinish(automaton.Start, 0, int.MaxValue));
        Assert.Equal(-1, automaton.Next(automaton.Start, 'a'));
        Assert.False(automaton.IsAccepting(automaton.Start));
    }

    [Theory]
    [MemberData(nameof(OraclePatterns))]
    public void Next_RandomWalk_NeverReachesADeadEnd(string pattern)
    {
        var automaton = PatternAutomaton.Compile(pattern);
        var dfa = automaton.Dfa;
        var random = new Random(7);
        for (var walk = 0; walk < 50; walk++)
        {
            var state = automaton.Start;
            for (var step = 0; step < 30 && dfa.TransitionCount(state) > 0; step++)
            {
                Assert.True(automaton.CanFinish(state, 0, int.MaxValue), $"pattern {pattern}: state {state} cannot finish");
                var (lo, hi, target) = dfa.Transition(state, random.Next(dfa.TransitionCount(state)));
                var codePoint = lo + random.Next(hi - lo + 1);
                Assert.Equal(target, automaton.Next(state, codePoint));
                state = target;
            }
            Assert.True(automaton.CanFinish(state, 0, int.MaxValue));
        }
        // Next never hands out a state that cannot finish, whatever the code point.
        for (var state = 0; state < automaton.StateCount; state++)
        {
            foreach (var codePoint in new[] { 0, 'a', 'b', 'x', '\n', 0xFFFF, 0x1F600, 0x10FFFF })
            {
                var next = automaton.Next(state, codePoint);
                Assert.True(next == -1 || automaton.CanFinish(next, 0, int.MaxValue));
            }
        }
    }

    [Theory]
    [MemberData(nameof(OraclePatterns))]
    public void CanFinish_EveryStateSmallBounds_AgreesWithForwardSearch(string pattern)
    {
        AssertCanFinishMatchesSearch(PatternAutomaton.Compile(pattern));
    }

    [Theory]
    [InlineData("^(aa)*$")]
    [InlineData("^(?:a{3})*(?:b{5})*$")]
    [InlineData("^(?:x(?:a{2})*|y(?:a{3})*)$")]
    [InlineData("^a{20}b{0,3}$")]
    [InlineData("^[0-9a-f]{8}-[0-9a-f]{4}$")]
    public void CanFinish_PeriodicLengths_AgreeWithForwardSearch(string pattern)
        => AssertCanFinishMatchesSearch(PatternAutomaton.Compile(pattern));

    [Fact]
    public void CanFinish_EvenLengths_ExactFarBeyondTheWindow()
    {
        var automaton = PatternAutomaton.Compile("^(aa)*$");
        Assert.True(automaton.CanFinish(automaton.Start, 0, 0));
        Assert.False(automaton.CanFinish(automaton.Start, 1, 1));
        Assert.True(automaton.CanFinish(automaton.Start, 1_000_000, 1_000_000));
        Assert.False(automaton.CanFinish(automaton.Start, 1_000_001, 1_000_001));
        Assert.True(automaton.CanFinish(automaton.Start, 1_000_001, 1_000_002));
        Assert.True(automaton.CanFinish(automaton.Start, int.MaxValue - 1, int.MaxValue));
        Assert.False(automaton.CanFinish(automaton.Start, int.MaxValue, int.MaxValue));
        Assert.False(automaton.CanFinish(automaton.Start, 5, 4));
        var afterOne = automaton.Next(automaton.Start, 'a');
        Assert.True(automaton.CanFinish(afterOne, 1, 1));
        Assert.False(automaton.CanFinish(afterOne, 2, 2));
        Assert.True(automaton.CanFinish(afterOne, 2, int.MaxValue));
    }

    [Fact]
    public void CanFinish_BoundedLength_FalseBeyondTheMaximum()
    {
        var automaton = PatternAutomaton.Compile("^a{2,5}$");
        Assert.False(automaton.CanFinish(automaton.Start, 0, 1));
        Assert.True(automaton.CanFinish(automaton.Start, 0, 2));
        Assert.True(automaton.CanFinish(automaton.Start, 5, int.MaxValue));
        Assert.False(automaton.CanFinish(automaton.Start, 6, int.MaxValue));
    }

    [Fact]
    public void CanFinish_NoPeriodWithinWindow_ExactBelowAndFalseAbove()
    {
        // Branch cycles of lengths 2, 3, 5, 7, 11, 13: the lengths from the start repeat only every 30,030 steps.
        var automaton = PatternAutomaton.Compile("^(?:b(?:a{2})*|c(?:a{3})*|d(?:a{5})*|e(?:a{7})*|f(?:a{11})*|g(?:a{13})*)$");
        Assert.False(automaton.CompletionLengthsExact);
        var afterB = automaton.Next(automaton.Start, 'b');
        Assert.True(automaton.CanFinish(afterB, 4094, 4094));
        Assert.False(automaton.CanFinish(afterB, 4093, 4093));
        Assert.True(automaton.CanFinish(afterB, 0, int.MaxValue));
        // The documented approximation: an existing completion above the window is answered false, never the reverse.
        Assert.False(automaton.CanFinish(afterB, 5000, 5000));
    }

    [Fact]
    public void Compile_UnanchoredMatch_CollapsesIntoOneAcceptEverythingState()
    {
        // Without the collapse, subset construction keeps tracking the last 11 letters after a match and passes 4,096
        // states (measured) before minimization could merge them; the minimal DFA counts the a/b run since an 'a'.
        var automaton = PatternAutomaton.Compile("(a|b)*a(a|b){10}");
        Assert.Equal(12, automaton.StateCount);
        var state = automaton.Start;
        foreach (var c in "abbbbbbbbbb")
        {
            state = automaton.Next(state, c);
        }
        Assert.True(automaton.IsAccepting(state));
        foreach (var c in new[] { 'a', 'b', '\n', 0x1F600 })
        {
            Assert.Equal(state, automaton.Next(state, c));
        }
    }

    [Theory]
    [InlineData("^[ab]c$", 3)]
    [InlineData("^(?:a|b)c$", 3)]
    [InlineData("^(?:ab|ab)$", 3)]
    [InlineData("^(?:a|b)*$", 1)]
    [InlineData("x*", 1)]
    [InlineData("abc", 4)] // start, after a, after ab, matched
    [InlineData("^a[]b$", 1)] // the dead start alone
    public void Compile_EquivalentStates_AreMerged(string pattern, int states)
        => Assert.Equal(states, PatternAutomaton.Compile(pattern).StateCount);

    [Fact]
    public void Next_IntoUnsatisfiableBranch_ReturnsDeadInsteadOfADeadState()
    {
        var automaton = PatternAutomaton.Compile("^(?:x[]|y)z$");
        Assert.Equal(-1, automaton.Next(automaton.Start, 'x'));
        var afterY = automaton.Next(automaton.Start, 'y');
        Assert.True(automaton.CanFinish(afterY, 1, 1));
        Assert.True(Accepts(automaton, "yz"));
    }

    [Fact]
    public void Next_OutOfRangeCodePointOrState_IsDeadOrThrows()
    {
        var automaton = PatternAutomaton.Compile("a");
        Assert.Equal(-1, automaton.Next(automaton.Start, -5));
        Assert.Equal(-1, automaton.Next(automaton.Start, 0x110000));
        Assert.Equal(-1, automaton.Next(automaton.Start, 0xD800)); // a surrogate is no code point of well-formed text
        Assert.Throws<ArgumentOutOfRangeException>(() => automaton.Next(-1, 'a'));
        Assert.Throws<ArgumentOutOfRangeException>(() => automaton.IsAccepting(automaton.StateCount));
        Assert.Throws<ArgumentOutOfRangeException>(() => automaton.CanFinish(automaton.Start, -1, 3));
    }

    [Fact]
    public void Compile_SharedInstance_AgreesAcrossThreads()
    {
        var automaton = PatternAutomaton.Compile(@"^[a-z]+\d{2}$");
        var results = new bool[64];
        Parallel.For(0, results.Length, i => results[i] = Accepts(automaton, i % 2 == 0 ? "abc12" : "abc1"));
        Assert.All(results.Where((_, i) => i % 2 == 0), Assert.True);
        Assert.All(results.Where((_, i) => i % 2 == 1), Assert.False);
    }

    /// <summary>Whether the automaton accepts the whole of <paramref name="s"/>, stepping code point by code point.</summary>
    internal static bool Accepts(PatternAutomaton automaton, string s)
    {
        var state = automaton.Start;
        foreach (var rune in s.EnumerateRunes())
        {
            state = automaton.Next(state, rune.Value);
            if (state < 0)
            {
                return false;
            }
        }
        return automaton.IsAccepting(state);
    }

    /// <summary>Every string of up to 3 code points from the alphabet, then 400 seeded random ones of 4 to 12.</summary>
    private static IEnumerable<string> TestStrings(string alphabet, int seed)
    {
        var runes = alphabet.EnumerateRunes().Select(r => r.ToString()).ToArray();
        IEnumerable<string> level = [""];
        for (var length = 0; length <= 3; length++)
        {
            foreach (var s in level)
            {
                yield return s;
            }
            level = level.SelectMany(s => runes.Select(r => s + r)).ToList();
        }
        var random = new Random(seed);
        for (var i = 0; i < 400; i++)
        {
            var sb = new StringBuilder();
            for (var n = random.Next(4, 13); n > 0; n--)
            {
                sb.Append(runes[random.Next(runes.Length)]);
            }
            yield return sb.ToString();
        }
    }

    /// <summary>For every state and small bounds, CanFinish against a forward search of the states reachable in exactly k steps.</summary>
    private static void AssertCanFinishMatchesSearch(PatternAutomaton automaton)
    {
        const int Bound = 40;
        var dfa = automaton.Dfa;
        var n = automaton.StateCount;
        for (var state = 0; state < n; state++)
        {
            // reachable[k]: states reachable from `state` in exactly k code points; lengths up to Bound + n decide
            // "some length >= min" (a longer path contains a cycle of at most n steps that can be cut out).
            var accepts = new bool[Bound + n + 1];
            var frontier = new HashSet<int> { state };
            for (var k = 0; k < accepts.Length; k++)
            {
                accepts[k] = frontier.Any(automaton.IsAccepting);
                var next = new HashSet<int>();
                foreach (var s in frontier)
                {
                    for (var i = 0; i < dfa.TransitionCount(s); i++)
                    {
                        next.Add(dfa.Transition(s, i).Target);
                    }
                }
                frontier = next;
            }
            for (var min = 0; min <= Bound; min++)
            {
                for (var max = min; max <= Bound; max += 1 + (max / 8))
                {
                    var expected = accepts.AsSpan(min, max - min + 1).Contains(true);
                    Assert.True(expected == automaton.CanFinish(state, min, max), $"state {state}, {min}..{max}: expected {expected}");
                }
                var unbounded = accepts.AsSpan(min).Contains(true);
                Assert.True(unbounded == automaton.CanFinish(state, min, int.MaxValue), $"state {state}, {min}..: expected {unbounded}");
            }
        }
    }

    private static string Escape(string s)
        => string.Concat(s.EnumerateRunes().Select(r => r.Value is >= 0x20 and < 0x7F ? r.ToString() : $"\\u{{{r.Value:X}}}"));
}
