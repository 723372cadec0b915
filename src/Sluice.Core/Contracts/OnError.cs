using System.Text.Json.Serialization;

namespace Sluice.Contracts;

/// <summary>What a stage does with rows its function or processor throws on.</summary>
public enum OnError
{
    /// <summary>The job fails with the located error (the default).</summary>
    Fail,

    /// <summary>The failing batch is bisected to its failing rows; they are dropped and counted, the rest continue.</summary>
    Skip,

    /// <summary>As <see cref="Skip"/>, and the failing rows are written to the output's <c>_errors/</c> with stage, error, read task and row.</summary>
    [JsonStringEnumMemberName("dead_letter")]
    DeadLetter,
}
