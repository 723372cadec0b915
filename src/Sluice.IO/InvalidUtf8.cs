namespace Sluice.IO;

/// <summary>What a text, CSV or JSON Lines source does with bytes that are not valid UTF-8.</summary>
public enum InvalidUtf8
{
    /// <summary>Read them as U+FFFD, count them, and report a warning naming the file and line of the first.</summary>
    Replace,

    /// <summary>Fail the job at the first, naming its file and line.</summary>
    Error,
}
