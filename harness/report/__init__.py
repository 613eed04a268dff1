"""Reports: a document model of sections, tables and figures, written as Markdown or HTML."""
