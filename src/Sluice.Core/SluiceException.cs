namespace Sluice;

/// <summary>A failure Sluice explains: the message names the file, row, field or option and what is accepted.</summary>
public class SluiceException : Exception
{
    public SluiceException(string message) : base(message) { }

    public SluiceException(string message, Exception inner) : base(message, inner) { }

    public SluiceException() { }
}

/// <summary>Input that cannot be processed as given (a malformed row, a missing column, a wrong tensor shape).
/// Retrying cannot help, so the executor fails the job at once with the located message.</summary>
public sealed class BadInputException : SluiceException
{
    public BadInputException(string message) : base(message) { }

    public BadInputException(string message, Exception inner) : base(message, inner) { }

    public BadInputException() { }
}
