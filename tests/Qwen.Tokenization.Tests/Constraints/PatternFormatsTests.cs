using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Qwen.Tokenization.Constraints;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>
/// The JSON Schema formats: hand-written valid and invalid examples, and DateTime, DateTimeOffset, Guid and
/// IPAddress parsing as oracles on generated strings where their rules and the format's agree.
/// </summary>
public sealed class PatternFormatsTests
{
    [Theory]
    [InlineData("date", "2024-01-31", true)]
    [InlineData("date", "2024-12-01", true)]
    [InlineData("date", "0000-01-01", true)]
    [InlineData("date", "2024-02-30", true)] // syntax only: the regex does not know month lengths (DateTime refuses it)
    [InlineData("date", "2024-13-01", false)]
    [InlineData("date", "2024-00-10", false)]
    [InlineData("date", "2024-01-00", false)]
    [InlineData("date", "2024-01-32", false)]
    [InlineData("date", "2024-1-01", false)]
    [InlineData("date", "24-01-01", false)]
    [InlineData("date", "2024/01/01", false)]
    [InlineData("date", " 2024-01-01", false)]
    [InlineData("date", "2024-01-01\n", false)]
    [InlineData("date", "２０２４-01-01", false)] // \d is ASCII only
    [InlineData("time", "23:59:59Z", true)]
    [InlineData("time", "00:00:00.123456+05:30", true)]
    [InlineData("time", "12:00:00-00:00", true)]
    [InlineData("time", "23:59:60Z", true)] // leap second, allowed at any minute (syntax only)
    [InlineData("time", "10:00:00z", true)]
    [InlineData("time", "24:00:00Z", false)]
    [InlineData("time", "12:60:00Z", false)]
    [InlineData("time", "12:00:61Z", false)]
    [InlineData("time", "12:00:00", false)] // RFC 3339 full-time requires an offset
    [InlineData("time", "12:00Z", false)]
    [InlineData("time", "12:00:00+5:30", false)]
    [InlineData("time", "12:00:00+24:00", false)]
    [InlineData("time", "12:00:00.Z", false)]
    [InlineData("date-time", "2024-05-06T07:08:09Z", true)]
    [InlineData("date-time", "2024-05-06t07:08:09.5+01:00", true)]
    [InlineData("date-time", "2024-05-06 07:08:09Z", false)] // RFC 3339 lets applications accept a space; this format does not
    [InlineData("date-time", "2024-05-06T07:08:09", false)]
    [InlineData("date-time", "2024-05-06", false)]
    [InlineData("uuid", "123e4567-e89b-12d3-a456-426614174000", true)]
    [InlineData("uuid", "123E4567-E89B-12D3-A456-426614174000", true)]
    [InlineData("uuid", "123e4567e89b12d3a456426614174000", false)]
    [InlineData("uuid", "{123e4567-e89b-12d3-a456-426614174000}", false)]
    [InlineData("uuid", "123e4567-e89b-12d3-a456-42661417400g", false)]
    [InlineData("email", "a@b.co", true)]
    [InlineData("email", "first.last+tag@sub.example.com", true)]
    [InlineData("email", "x_y!#$%&'*/=?^`{|}~-@a-b.io", true)]
    [InlineData("email", "a@b", false)] // the domain needs a dot: a deliberate subset
    [InlineData("email", "a..b@c.de", false)]
    [InlineData("email", ".a@b.cd", false)]
    [InlineData("email", "a.@b.cd", false)]
    [InlineData("email", "a@-b.cd", false)]
    [InlineData("email", "a@b-.cd", false)]
    [InlineData("email", "@b.cd", false)]
    [InlineData("email", "a@b.cd.", false)]
    [InlineData("email", "a b@c.de", false)]
    [InlineData("email", "\"a b\"@c.de", false)] // quoted local parts are outside the subset
    [InlineData("email", "a@[127.0.0.1]", false)] // so are address literals
    [InlineData("ipv4", "0.0.0.0", true)]
    [InlineData("ipv4", "255.255.255.255", true)]
    [InlineData("ipv4", "192.168.1.10", true)]
    [InlineData("ipv4", "256.1.1.1", false)]
    [InlineData("ipv4", "01.2.3.4", false)] // leading zeros read as octal elsewhere; JSON Schema forbids them
    [InlineData("ipv4", "1.2.3", false)]
    [InlineData("ipv4", "1.2.3.4.5", false)]
    [InlineData("ipv4", "1.2.3.-4", false)]
    [InlineData("hostname", "localhost", true)]
    [InlineData("hostname", "a-b.example.com", true)]
    [InlineData("hostname", "xn--bcher-kva.example", true)]
    [InlineData("hostname", "-a.example", false)]
    [InlineData("hostname", "a-.example", false)]
    [InlineData("hostname", "a..b", false)]
    [InlineData("hostname", "a_b.example", false)]
    [InlineData("hostname", "", false)]
    [InlineData("hostname", "example.com.", false)]
    public void ForFormat_Examples_MatchHandWrittenExpectations(string format, string value, bool expected)
        => Assert.Equal(expected, PatternAutomatonTests.Accepts(PatternAutomaton.ForFormat(format)!, value));

    [Fact]
    public void ForFormat_HostnameLabel_AtMost63Characters()
    {
        var hostname = PatternAutomaton.ForFormat("hostname")!;
        Assert.True(PatternAutomatonTests.Accepts(hostname, new string('a', 63) + ".example"));
        Assert.False(PatternAutomatonTests.Accepts(hostname, new string('a', 64) + ".example"));
    }

    [Theory]
    [InlineData("ipv6")]
    [InlineData("uri")]
    [InlineData("regex")]
    [InlineData("Date")]
    [InlineData("")]
    public void ForFormat_UnsupportedFormat_ReturnsNull(string format) => Assert.Null(PatternAutomaton.ForFormat(format));

    [Fact]
    public void ForFormat_SameFormat_ReturnsTheSharedInstance()
        => Assert.Same(PatternAutomaton.ForFormat("date-time"), PatternAutomaton.ForFormat("date-time"));

    [Fact]
    public void ForFormat_Date_AgreesWithDateTimeWhereTheDayExistsInEveryMonth()
    {
        var date = PatternAutomaton.ForFormat("date")!;
        var random = new Random(1);
        for (var i = 0; i < 3000; i++)
        {
            var (year, month, day) = (random.Next(1, 10_000), random.Next(0, 14), random.Next(0, 33));
            var text = $"{year:D4}-{month:D2}-{day:D2}";
            var parsed = DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
            var accepted = PatternAutomatonTests.Accepts(date, text);
            Assert.True(!parsed || accepted, $"{text}: DateTime parses it, the format refuses it");
            if (day <= 28)
            {
                Assert.True(parsed == accepted, $"{text}: DateTime says {parsed}");
            }
        }
    }

    [Fact]
    public void ForFormat_DateTime_AcceptsWhatDateTimeOffsetParses()
    {
        var dateTime = PatternAutomaton.ForFormat("date-time")!;
        var random = new Random(2);
        string[] formats = ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"];
        for (var i = 0; i < 3000; i++)
        {
            var fraction = random.Next(3) == 0 ? "." + random.Next(0, 1_000_000).ToString(CultureInfo.InvariantCulture) : "";
            var offset = random.Next(3) switch
            {
                0 => "Z",
                1 => $"+{random.Next(0, 26):D2}:{random.Next(0, 62):D2}",
                _ => $"-{random.Next(0, 26):D2}:{random.Next(0, 62):D2}",
            };
            var text = $"{random.Next(1, 10_000):D4}-{random.Next(0, 14):D2}-{random.Next(0, 29):D2}T"
                + $"{random.Next(0, 26):D2}:{random.Next(0, 62):D2}:{random.Next(0, 60):D2}{fraction}{offset}";
            var parsed = DateTimeOffset.TryParseExact(text, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
            // DateTimeOffset limits offsets to ±14:00; otherwise it and the format agree on these fields.
            var offsetWithinDotNet = offset == "Z" || int.Parse(offset.AsSpan(1, 2), CultureInfo.InvariantCulture) < 14;
            if (offsetWithinDotNet)
            {
                Assert.True(parsed == PatternAutomatonTests.Accepts(dateTime, text), $"{text}: DateTimeOffset says {parsed}");
            }
        }
    }

    [Fact]
    public void ForFormat_Uuid_AgreesWithGuidExactD()
    {
        var uuid = PatternAutomaton.ForFormat("uuid")!;
        var random = new Random(3);
        const string Alphabet = "0123456789abcdefABCDEFg-";
        for (var i = 0; i < 3000; i++)
        {
            var chars = Guid.NewGuid().ToString("D").ToCharArray();
            for (var m = random.Next(0, 3); m > 0; m--)
            {
                chars[random.Next(chars.Length)] = Alphabet[random.Next(Alphabet.Length)];
            }
            var text = random.Next(10) == 0 ? new string(chars)[..^1] : new string(chars);
            Assert.True(Guid.TryParseExact(text, "D", out _) == PatternAutomatonTests.Accepts(uuid, text), text);
        }
    }

    [Fact]
    public void ForFormat_Ipv4_AgreesWithIPAddressCanonicalForm()
    {
        var ipv4 = PatternAutomaton.ForFormat("ipv4")!;
        var random = new Random(4);
        for (var i = 0; i < 3000; i++)
        {
            var octets = Enumerable.Range(0, random.Next(3, 6)).Select(_ =>
                (random.Next(4) == 0 ? "0" : "") + random.Next(0, 300).ToString(CultureInfo.InvariantCulture));
            var text = string.Join('.', octets);
            // IPAddress also reads "1.2.3" and octal "010.0.0.1"; only its canonical dotted quad is the format's.
            var canonical = IPAddress.TryParse(text, out var address) && address.AddressFamily == AddressFamily.InterNetwork
                && address.ToString() == text;
            Assert.True(canonical == PatternAutomatonTests.Accepts(ipv4, text), $"{text}: IPAddress says {canonical}");
        }
    }

    [Theory]
    [InlineData("date")]
    [InlineData("time")]
    [InlineData("date-time")]
    [InlineData("uuid")]
    [InlineData("email")]
    [InlineData("ipv4")]
    [InlineData("hostname")]
    public void ForFormat_EveryState_CanFinishAndLengthsAreExact(string format)
    {
        var automaton = PatternAutomaton.ForFormat(format)!;
        Assert.True(automaton.CompletionLengthsExact);
        for (var state = 0; state < automaton.StateCount; state++)
        {
            Assert.True(automaton.CanFinish(state, 0, int.MaxValue));
        }
        Assert.False(automaton.CanFinish(automaton.Start, 0, 0));
    }
}
