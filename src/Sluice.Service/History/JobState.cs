namespace Sluice.Service.History;

/// <summary>Where a job is in its life. JSON: the lower-case name.</summary>
internal enum JobState
{
    /// <summary>Accepted; waiting for resources (its record says why) or for its turn.</summary>
    Queued,
    Running,
    Succeeded,
    Failed,

    /// <summary>Stopped by <c>POST /cancel</c>; committed output stays, and <c>POST /resume</c> continues it.</summary>
    Cancelled,

    /// <summary>Running when the service stopped or died; <c>POST /resume</c> continues it.</summary>
    Interrupted,
}

internal static class JobStates
{
    public static bool IsFinal(this JobState state) => state is not (JobState.Queued or JobState.Running);

    public static bool IsResumable(this JobState state) => state is JobState.Failed or JobState.Cancelled or JobState.Interrupted;

    public static string Name(this JobState state) => state.ToString().ToLowerInvariant();

    public static bool TryParse(string? text, out JobState state) =>
        Enum.TryParse(text, ignoreCase: true, out state) && Enum.IsDefined(state) && !int.TryParse(text, out _);
}
