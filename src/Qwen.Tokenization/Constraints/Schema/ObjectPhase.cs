namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>Where an object's walk is.</summary>
internal enum ObjectPhase : byte
{
    Open, // after '{': a key or '}'
    Key, // in declared key Prop, Pos bytes matched
    Colon, // after the key of Prop (-1: an extra key)
    BeforeValue, // after ':'
    AfterValue, // after a value: ',' or '}'
    Comma, // after ',': a key
}
