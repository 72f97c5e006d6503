"""What several tabs share: comparing versions, explaining answers, what-if, jobs and the
table panel, drift and traffic charts."""
