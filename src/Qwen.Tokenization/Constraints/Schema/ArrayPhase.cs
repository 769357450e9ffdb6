namespace Qwen.Tokenization.Constraints.Schema;

/// <summary>Where an array's walk is.</summary>
internal enum ArrayPhase : byte
{
    Open, // after '[': an item or ']'
    AfterValue, // after an item: ',' or ']'
    Comma, // after ',': an item
}
