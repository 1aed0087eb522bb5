# Gentoo's /etc/profile sources /etc/profile.env (written by env-update);
# Debian's does not, so this fixture bridge does.
[ -r /etc/profile.env ] && . /etc/profile.env
