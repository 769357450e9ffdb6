using Qwen.Tokenization.Constraints;
using static Qwen.Tokenization.Tests.Constraints.SchemaGrammars;

namespace Qwen.Tokenization.Tests.Constraints;

/// <summary>Each supported keyword through the schema grammar over the real vocabulary: what it allows and what it refuses; and every refusal of a schema.</summary>
public sealed class CompiledJsonSchemaTests
{
    private const string Person = """
        {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
         "required": ["name", "age"]}
        """;

    [Theory]
    [InlineData("""{"name": "Ann", "age": 3}""")]
    [InlineData("""{"name":"Ann","age":3,"tags":["a","b"]}""")]
    [InlineData("{\n  \"name\": \"Ann\",\n  \"age\": 3\n}")]
    [InlineData("""{"name": "A\"\u00e9\ud83d\ude00", "age": -12}""")]
    public void Object_InstancesInSchemaOrder_Accepted(string text) => Assert.True(Accepts(Person, text));

    [Theory]
    [InlineData("""{"age": 3, "name": "Ann"}""", 2)] // declared order only
    [InlineData("""{"name": "Ann", "x": 1}""", 17)] // no extra key when additionalProperties is absent
    [InlineData("""{"name": "Ann"}""", 14)] // the required age cannot be skipped
    [InlineData("""{"name": "Ann", "age": 3.5}""", 24)] // integer
    [InlineData("""{"name": 1""", 9)]
    public void Object_OutsideTheSchema_RefusedAtTheFirstWrongByte(string text, int at) => Assert.Equal(at, FirstRefused(Person, text));

    [Fact]
    public void Object_OptionalPropertySkipped_Accepted()
    {
        const string schema = """{"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}, "c": {"type": "null"}}, "required": ["c"]}""";
        Assert.True(Accepts(schema, """{"c": null}"""));
        Assert.True(Accepts(schema, """{"b": false, "c": null}"""));
        Assert.False(Accepts(schema, """{}"""));
        Assert.Equal(1, FirstRefused(schema, """{}"""));
    }

    [Fact]
    public void AdditionalProperties_TrueOrSchema_ExtraKeysAfterTheDeclaredOnes()
    {
        const string schema = """{"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "boolean"}}""";
        Assert.True(Accepts(schema, """{"a": 1, "b": true, "c": false}"""));
        Assert.True(Accepts(schema, """{"zz": true}"""));
        Assert.Equal(15, FirstRefused(schema, """{"zz": true, "a": 1}""")); // after an extra key no declared one, and "a" is no extra key
        Assert.False(Accepts(schema, """{"b": 1}""")); // the extra value follows additionalProperties
        Assert.False(Accepts(schema, """{"a": true}""")); // a declared key is never an extra key
        Assert.True(Accepts("""{"type": "object", "additionalProperties": true}""", """{"x": [1, {"y": null}]}"""));
        Assert.True(Accepts("""{"type": "object"}""", "{}"));
        Assert.False(Accepts("""{"type": "object"}""", """{"x": 1}""")); // absent means false
    }

    [Theory]
    [InlineData("5", true)]
    [InlineData("5.0", true)]
    [InlineData("-3", true)]
    [InlineData("4.999", true)]
    [InlineData("6", false)]
    [InlineData("5.01", false)]
    [InlineData("50", false)]
    [InlineData("-3.5", false)]
    public void Number_Bounds_OnlyCompletionsInRange(string text, bool accepted)
        => Assert.Equal(accepted, Accepts("""{"type": "number", "minimum": -3, "maximum": 5}""", text));

    [Fact]
    public void Number_MaximumFive_RefusesSixAndTheDigitsThatCannotEndInRange()
    {
        const string schema = """{"type": "integer", "maximum": 5, "minimum": 0}""";
        Assert.Equal(0, FirstRefused(schema, "6"));
        Assert.Equal(1, FirstRefused(schema, "50"));
        Assert.Equal(-1, FirstRefused(schema, "-0")); // -0 is 0
        Assert.Equal(0, FirstRefused("""{"type": "integer", "minimum": 1}""", "-"));
        Assert.Equal(1, FirstRefused(schema, "5."));
        Assert.Equal(0, FirstRefused("""{"type": "number", "exclusiveMaximum": 5}""", "5")); // every number "5" starts is at least 5
        Assert.Equal(3, FirstRefused("""{"type": "number", "maximum": 5.5}""", "5.56"));
        Assert.True(Accepts("""{"type": "number", "exclusiveMaximum": 5}""", "4.5"));
        Assert.False(Accepts("""{"type": "number", "exclusiveMinimum": 5}""", "5"));
        Assert.True(Accepts("""{"type": "number", "exclusiveMinimum": 5}""", "5.000000000001"));
    }

    [Fact]
    public void Number_Digits_Bounded()
    {
        Assert.True(Accepts("""{"type": "number"}""", "123456789012345.123456789012"));
        Assert.Equal(15, FirstRefused("""{"type": "number"}""", "1234567890123456"));
        Assert.Equal(28, FirstRefused("""{"type": "number"}""", "123456789012345.1234567890123"));
        Assert.True(Accepts("""{"type": "number"}""", "-1.5e+300"));
        Assert.Equal(8, FirstRefused("""{"type": "number"}""", "1.5e+3000"));
        Assert.Equal(1, FirstRefused("""{"type": "number", "minimum": 0}""", "1e5")); // no exponent under a bound
        Assert.Equal(1, FirstRefused("""{"type": "integer"}""", "1.0"));
        Assert.Equal(1, FirstRefused("""{"type": "integer"}""", "01"));
    }

    [Fact]
    public void TypeList_StringOrNull_EitherAccepted()
    {
        const string schema = """{"type": ["string", "null"]}""";
        Assert.True(Accepts(schema, "null"));
        Assert.True(Accepts(schema, "\"x\""));
        Assert.Equal(0, FirstRefused(schema, "1"));
    }

    [Fact]
    public void String_Lengths_CountCodePointsAfterEscapes()
    {
        const string schema = """{"type": "string", "minLength": 2, "maxLength": 3}""";
        Assert.True(Accepts(schema, "\"ab\""));
        Assert.True(Accepts(schema, "\"é😀\\n\""));
        Assert.True(Accepts(schema, "\"\\ud83d\\ude00\\u0041\""));
        Assert.Equal(2, FirstRefused(schema, "\"a\""));
        Assert.Equal(4, FirstRefused(schema, "\"abcd\""));
    }

    [Theory]
    [InlineData(4, false)]
    [InlineData(5, true)]
    public void String_MaxLength_MultiCharacterTokenAllowedOnlyIfItFits(int maxLength, bool allowed)
    {
        var hello = Assert.Single(GrammarDriver.Tokenizer.Encode("hello"));
        var grammar = For($$"""{"type": "string", "maxLength": {{maxLength}}}""");
        grammar.Accept(GrammarDriver.ByteToken((byte)'"'));
        Assert.Equal(allowed, grammar.IsAllowed(hello));
        Assert.Equal(allowed, GrammarDriver.AllowedIds(grammar).Contains(hello)); // the same answer in a full scan
    }

    [Fact]
    public void Pattern_EachCharacterChecked_AndTheStringClosesOnlyOnAMatch()
    {
        const string schema = """{"type": "string", "pattern": "^[a-z]{2,3}$"}""";
        Assert.True(Accepts(schema, "\"ab\""));
        Assert.True(Accepts(schema, "\"abc\""));
        Assert.Equal(2, FirstRefused(schema, "\"a1"));
        Assert.Equal(2, FirstRefused(schema, "\"a\""));
        Assert.Equal(4, FirstRefused(schema, "\"abcd"));
        Assert.Equal(2, FirstRefused(schema, "\"a\\u0062")); // no \u escapes in a pattern string
        Assert.Equal(1, FirstRefused(schema, "\"é"));
        Assert.True(Accepts("""{"type": "string", "pattern": "x"}""", "\"a\\\"x\\n\""));
    }

    [Fact]
    public void PatternWithMaxLength_CharacterRefusedWhenNoMatchFitsTheRoomLeft()
    {
        // "ab" must appear somewhere within 4 characters: after "xx" only "a" may follow, so a third "x" is refused.
        const string schema = """{"type": "string", "pattern": "ab", "maxLength": 4}""";
        Assert.True(Accepts(schema, "\"xxab\""));
        Assert.Equal(3, FirstRefused(schema, "\"xxx"));
        Assert.Equal(4, FirstRefused(schema, "\"xaa\""));
    }

    [Fact]
    public void Format_Date_OnlyDates()
    {
        const string schema = """{"type": "string", "format": "date"}""";
        Assert.True(Accepts(schema, "\"2024-01-31\""));
        Assert.Equal(7, FirstRefused(schema, "\"2024-13"));
        Assert.Equal(8, FirstRefused(schema, "\"2024-01\""));
    }

    [Fact]
    public void Pattern_NoAsciiMatch_Refused()
    {
        var e = Refusal("""{"type": "object", "properties": {"p": {"type": "string", "pattern": "^é$"}}}""");
        Assert.Equal("/properties/p/pattern", e.Path);
        Assert.Contains("printable-ASCII", e.Message, StringComparison.Ordinal);
        Assert.Equal("/pattern", Refusal("""{"type": "string", "pattern": "(?=a)"}""").Path);
        Assert.Equal("/format", Refusal("""{"type": "string", "pattern": "a", "format": "date"}""").Path);
    }

    [Fact]
    public void EnumAndConst_CanonicalTextsOnly()
    {
        const string schema = """{"enum": ["red", "green", 1.50, null, {"a": [1, "é"]}]}""";
        Assert.True(Accepts(schema, "\"red\""));
        Assert.True(Accepts(schema, "1.50"));
        Assert.True(Accepts(schema, "null"));
        Assert.True(Accepts(schema, """{"a":[1,"é"]}"""));
        Assert.Equal(2, FirstRefused(schema, "\"re\""[..2] + "x"));
        Assert.Equal(3, FirstRefused(schema, "1.5 "));
        Assert.True(Accepts("""{"const": "x", "type": "string"}""", "\"x\""));
        Assert.True(Accepts("""{"type": "string", "enum": ["a", 1]}""", "\"a\""));
        Assert.False(Accepts("""{"type": "string", "enum": ["a", 1]}""", "1"));
    }

    [Fact]
    public void AnyOf_TwoObjectsDistinguishedByTheirKeys_BothReachable()
    {
        const string schema = """
            {"anyOf": [{"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}}, "required": ["kind", "r"]},
                       {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "number"}}, "required": ["kind", "side"]}]}
            """;
        Assert.True(Accepts(schema, """{"kind": "circle", "r": 1}"""));
        Assert.True(Accepts(schema, """{"kind": "square", "side": 2}"""));
        Assert.Equal(20, FirstRefused(schema, """{"kind": "circle", "side": 2}"""));
        Assert.True(Accepts("""{"oneOf": [{"type": "integer"}, {"type": "string"}]}""", "7"));
        Assert.True(Accepts("""{"allOf": [{"type": "integer"}], "description": "d"}""", "7"));
    }

    [Fact]
    public void Ref_RecursiveDefinition_NestsAndCloses()
    {
        const string schema = """
            {"$ref": "#/$defs/Node", "$defs": {"Node": {"type": "object", "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}, "required": ["v"]}}}
            """;
        Assert.True(Accepts(schema, """{"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": [{"v": 4, "kids": []}]}]}"""));
        Assert.Equal(19, FirstRefused(schema, """{"v": 1, "kids": [{}]}"""));
        Assert.True(Accepts("""{"type": "object", "properties": {"next": {"$ref": "#"}}}""", """{"next": {"next": {}}}"""));
        Assert.True(Accepts("""{"definitions": {"S": {"type": "string"}}, "type": "array", "items": {"$ref": "#/definitions/S"}}""", """["a"]"""));
    }

    [Fact]
    public void Ref_RecursionAtTheDepthBound_OnlyClosingAllowed()
    {
        const string schema = """{"type": "object", "properties": {"next": {"$ref": "#"}}}""";
        var grammar = For(schema);
        var text = string.Concat(Enumerable.Repeat("{\"next\": ", 31)) + "{";
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, text));
        Assert.False(grammar.IsAllowed(GrammarDriver.ByteToken((byte)'"'))); // a 33rd level cannot start, so no key
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, new string('}', 32)));
        Assert.True(grammar.IsComplete);
    }

    [Fact]
    public void Whitespace_OneSpaceOrNewlineAndIndent_Bounded()
    {
        Assert.True(Accepts(Person, "{\n  \"name\" : \"Ann\" ,\n  \"age\":\n  3\n}"));
        Assert.Equal(2, FirstRefused(Person, "{  \"name\""));
        Assert.Equal(4, FirstRefused(Person, "{\n   \n"[..4] + "   "));
        Assert.Equal(1, FirstRefused(Person, "{\t"));
        Assert.Equal(0, FirstRefused(Person, " {"));
        Assert.Equal(2, FirstRefused(Person, "{ \n"));
    }

    [Fact]
    public void NoType_AnyValueUnderTheOtherKeywords()
    {
        Assert.True(Accepts("{}", """[1, {"a": "b"}, null]"""));
        Assert.True(Accepts("""{"maxLength": 1}""", "\"a\""));
        Assert.True(Accepts("""{"maxLength": 1}""", "12"));
        Assert.Equal(2, FirstRefused("""{"maxLength": 1}""", "\"ab\""));
    }

    [Theory]
    [InlineData("""{"type": "array", "uniqueItems": true}""", "/uniqueItems", "'uniqueItems' is not supported")]
    [InlineData("""{"$defs": {"Node": {"type": "array", "uniqueItems": true}}, "$ref": "#/$defs/Node"}""", "/$defs/Node/uniqueItems", "'uniqueItems' is not supported")]
    [InlineData("""{"type": "object", "properties": {"when": {"type": "string", "format": "no-such-format"}}}""", "/properties/when/format", "'format' 'no-such-format' is not supported")]
    [InlineData("""{"type": "string", "minLength": 5, "maxLength": 3}""", "/minLength", "'minLength' 5 is greater than 'maxLength' 3")]
    [InlineData("""{"type": "array", "minItems": 2, "maxItems": 1}""", "/minItems", "'minItems' 2 is greater than 'maxItems' 1")]
    [InlineData("""{"$ref": "#/$defs/X"}""", "/$ref", "'$ref' '#/$defs/X' names no definition")]
    [InlineData("""{"$ref": "http://example.com/s.json"}""", "/$ref", "'$ref' 'http://example.com/s.json' is not supported")]
    [InlineData("""{"enum": []}""", "/enum", "'enum' must be a non-empty array")]
    [InlineData("""{"type": "integer", "enum": ["a"]}""", "/enum", "'enum' has no value of the schema's 'type'")]
    [InlineData("""{"type": "integer", "minimum": 5, "maximum": 3}""", "/maximum", "'minimum' 5 and 'maximum' 3 leave no integer")]
    [InlineData("""{"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 2}""", "/exclusiveMaximum", "'exclusiveMinimum' 1 and 'exclusiveMaximum' 2 leave no integer")]
    [InlineData("""{"type": "number", "exclusiveMinimum": true}""", "/exclusiveMinimum", "'exclusiveMinimum' must be a number")]
    [InlineData("""{"type": "strin"}""", "/type", "'type' 'strin' is not a JSON Schema type")]
    [InlineData("""{"allOf": [{"type": "string"}, {"maxLength": 2}]}""", "/allOf", "'allOf' is supported only with exactly one schema")]
    [InlineData("""{"anyOf": []}""", "/anyOf", "'anyOf' must be a non-empty array")]
    [InlineData("""{"type": "object", "properties": {"a": {}}, "required": ["b"]}""", "/required", "'required' names 'b'")]
    [InlineData("""{"type": "object", "properties": {"a/b": {"not": {}}}}""", "/properties/a~1b/not", "'not' is not supported")]
    [InlineData("""{"type": "array", "items": [{"type": "string"}]}""", "/items", "'items' as an array")]
    [InlineData("""{"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}}""", "/$defs/A", "refers to itself")]
    [InlineData("""{"type": "object", "properties": {"n": {"$ref": "#"}}, "required": ["n"]}""", "", "no instance")]
    [InlineData("""{"type": "string", "maxLength": 2, "description": "x", "$ref": "#"}""", "/type", "'type' alongside '$ref' is not supported")]
    [InlineData("false", "", "allows no value")]
    [InlineData("""{"type": "object", "properties": {"a": {"$defs": {}}}}""", "/properties/a/$defs", "only at the root")]
    public void Compile_UnsupportedOrContradictory_ThrowsWithPathAndReason(string schema, string path, string message)
    {
        var e = Refusal(schema);
        Assert.Equal(path, e.Path);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compile_Annotations_Ignored()
    {
        const string schema = """
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x", "title": "T", "description": "D", "$comment": "c",
             "type": "integer", "default": 1, "examples": [1], "deprecated": false, "readOnly": false, "writeOnly": false}
            """;
        Assert.True(Accepts(schema, "12"));
    }

    [Fact]
    public void AnyObject_AnyKeysAndValues()
    {
        var grammar = TokenGrammar.JsonSchema(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds);
        Assert.Equal(-1, GrammarDriver.FeedBytes(grammar, """{"a": [1, 2.5e3, {"b": null}], "c": "d"}"""));
        Assert.True(grammar.IsComplete);
        Assert.Equal(0, FirstRefusedAny("[]"));

        static int FirstRefusedAny(string text) => GrammarDriver.FeedBytes(TokenGrammar.JsonSchema(GrammarDriver.Tokens, CompiledJsonSchema.AnyObject, GrammarDriver.StopIds), text);
    }
}
